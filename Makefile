# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
# Both create .venv on first use and reinstall only when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of this version is what the dev machines and CI carry locally; GPU users may override,
# e.g. `make demo TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"`.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?= -q -n 2
DEMO_ARGS ?=
# Datasets beside the checkout (never committed); tests that need them skip when absent.
ifneq ($(wildcard ../shared/data),)
export RECODE_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: demo test lint install clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q $(TORCH_SPEC)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

demo: install
	$(BIN)/recode demo $(DEMO_ARGS)

test: install
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests (is tests/ present?)" >&2; fi; \
	exit $$rc

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo_out
