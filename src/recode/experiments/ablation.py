"""`recode ablate`: one training run per reward variant, same seed and data, then the same evaluation.

Why a runner and not six commands: the paper's Table 2 (format only, +EM, +ES, +EM*, +ES*) is only a fair
comparison when every run shares the base config, the seed and the data, and differs *only* in the reward
list. Here that is enforced by construction: each variant is the same training YAML plus the same
overrides plus its reward list and its own output folder.

Besides each variant's evaluation it records the fraction of *all-tie* groups (every completion of a
prompt got the same total reward, so GRPO's group-normalised advantage is zero and the group teaches
nothing). That fraction is the paper's argument for ES-style rewards: a binary EM leaves most groups
tied early in training, a continuous similarity almost never does. It is read from TRL's logged
`frac_reward_zero_std`, averaged over logged steps.

Output layout under `output_dir`: `<variant>/` (training output, `log_history.jsonl`),
`<variant>/eval.json` (a run-result JSON), `base/eval.json` (the untrained model, when asked) and
`ablation.json` (the summary `recode report` tabulates).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from recode.data.loaders import is_local_source, missing_file
from recode.errors import RecodeError
from recode.training.quiet import printed_logs_to, quiet_libraries

REWARDS_KEY = "rewards"
"""`TrainConfig` field listing the rewards (`[{name, weight}]`); a variant replaces it whole."""
OUTPUT_KEY = "logging.output_dir"
"""`TrainConfig` field naming the run's output folder."""
ZERO_STD_KEYS = ("frac_reward_zero_std", "train/frac_reward_zero_std")
"""TRL's logged share of groups whose rewards all tie (with or without the `train/` prefix)."""
TRAINER_LOG = "trainer.log"
"""Per variant: what the trainer printed (its log dicts) and warned, kept out of the terminal."""


class Variant(BaseModel):
    """One arm of the ablation: a name (its folder) and the reward functions it trains with."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    rewards: list[str] = Field(min_length=1)
    weights: list[float] | None = None

    @field_validator("weights")
    @classmethod
    def _one_weight_per_reward(cls, weights: list[float] | None, info: Any) -> list[float] | None:
        rewards = info.data.get("rewards") or []
        if weights is not None and len(weights) != len(rewards):
            raise ValueError(f"{len(weights)} weights for {len(rewards)} rewards")
        return weights


DEFAULT_VARIANTS: tuple[Variant, ...] = (
    Variant(name="format", rewards=["format"]),
    Variant(name="em", rewards=["format", "em"]),
    Variant(name="es", rewards=["format", "es"]),
    Variant(name="em_star", rewards=["format", "em_star"]),
    Variant(name="es_star", rewards=["format", "es_star"]),
    Variant(name="exec", rewards=["format", "exec"]),
)
"""The paper's arms (format reward alone, then plus one similarity reward each) and our execution arm."""


HELDOUT_METRICS = ("exact_match", "edit_similarity", "well_formed", "exec_pass")
"""Held-out metrics, all fractions in [0, 1]: normalised exact match (the paper's Pass@1 by EM), mean
edit similarity of the extracted code to the target, share of completions in the required
`<think>/<answer>` format, and share whose code passes the row's `exec_tests` (rows without tests are
left out of that one)."""


class HeldoutEval(BaseModel):
    """Greedy completions on held-out migration examples, scored against their reference migration.

    Why not a benchmark harness: on a migration set the reference answer is the judge, with the same
    extraction and normalisation as the rewards, so it runs in seconds on the tiny CPU config.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["heldout"] = "heldout"
    data: str
    split: str = "test"
    limit: int | None = Field(default=None, ge=1)
    metrics: list[Literal["exact_match", "edit_similarity", "well_formed", "exec_pass"]] = Field(
        default_factory=lambda: ["exact_match", "edit_similarity"], min_length=1
    )
    max_new_tokens: int = Field(default=256, ge=1)
    batch_size: int = Field(default=8, ge=1)


class ArenaEval(BaseModel):
    """CodeUpdateArena pass@k of each trained model (the paper's Table 2 metric)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["arena"] = "arena"
    data: str | None = None
    backend: str = "hf"
    n: int = Field(default=5, ge=1)
    k: list[int] = Field(default_factory=lambda: [1])
    temperature: float = 0.8
    max_new_tokens: int = Field(default=1024, ge=1)
    batch_size: int = Field(default=8, ge=1)
    prompt_style: str = "with_doc"
    limit: int | None = Field(default=None, ge=1)
    timeout_s: float = 15.0


class AblationConfig(BaseModel):
    """The ablation YAML: which training config, which variants, where to write, how to evaluate."""

    model_config = ConfigDict(extra="forbid")

    train_config: Path
    overrides: list[str] = Field(default_factory=list)
    variants: list[Variant] = Field(default_factory=lambda: list(DEFAULT_VARIANTS), min_length=1)
    output_dir: Path = Path("runs/ablation")
    evaluation: HeldoutEval | ArenaEval | None = Field(default=None, discriminator="kind")
    evaluate_base: bool = True
    source: Path | None = None

    @field_validator("variants")
    @classmethod
    def _unique_names(cls, variants: list[Variant]) -> list[Variant]:
        names = [v.name for v in variants]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"variant names must be unique (repeated: {', '.join(duplicated)})")
        return variants

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Sequence[str] = ()) -> AblationConfig:
        """Read an ablation YAML; `overrides` (`a.b=value`) are appended to its training overrides.

        Relative `train_config` paths are resolved against the YAML's folder when they do not exist
        from the current directory, so `recode ablate -c configs/x.yaml` works from anywhere.
        """
        path = Path(path).expanduser()
        if not path.is_file():
            raise RecodeError(f"{path}: no such ablation config", hint="e.g. configs/ablation_tiny-cpu.yaml")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise RecodeError(f"{path}: not valid YAML ({exc})".splitlines()[0]) from None
        if not isinstance(raw, dict):
            raise RecodeError(f"{path}: expected a mapping at the top level")
        try:
            cfg = cls.model_validate({**raw, "source": path})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise RecodeError(
                f"{path}: {where}: {first['msg']}", hint="see configs/ablation_tiny-cpu.yaml"
            ) from None
        train = cfg.train_config
        if not train.is_absolute() and not train.exists() and (path.parent / train).exists():
            train = path.parent / train
        return cfg.model_copy(update={"train_config": train, "overrides": [*cfg.overrides, *overrides]})


def variant_overrides(variant: Variant, output_dir: Path) -> list[str]:
    """The overrides that make a variant: its rewards (with weights) and its folder, nothing else."""
    weights = variant.weights if variant.weights is not None else [1.0] * len(variant.rewards)
    specs = [{"name": name, "weight": weight} for name, weight in zip(variant.rewards, weights, strict=True)]
    return [f"{REWARDS_KEY}={json.dumps(specs)}", f"{OUTPUT_KEY}={output_dir / variant.name}"]


def zero_std_fraction(log_history: Sequence[dict[str, Any]]) -> float | None:
    """Mean over logged steps of the fraction of groups whose rewards all tie (None if never logged)."""
    values = []
    for row in log_history:
        value = next((row[k] for k in ZERO_STD_KEYS if isinstance(row.get(k), (int, float))), None)
        if value is not None and math.isfinite(value):
            values.append(float(value))
    return sum(values) / len(values) if values else None


def _last(log_history: Sequence[dict[str, Any]], key: str) -> float | None:
    found = [row[key] for row in log_history if isinstance(row.get(key), (int, float))]
    return float(found[-1]) if found else None


TrainFn = Callable[[Path, list[str]], Any]
"""(training YAML, overrides) -> an object with `output_dir`, `log_history`, `final_adapter_dir`."""
EvalFn = Callable[[Any, str, Path], dict[str, Any]]
"""(evaluation spec, model path or id, where to write the run-result JSON) -> the run-result dict."""


def run_ablation(
    cfg: AblationConfig,
    *,
    only: Sequence[str] | None = None,
    out_dir: Path | None = None,
    train_fn: TrainFn | None = None,
    eval_fn: EvalFn | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train and evaluate each selected variant; write and return the `ablation.json` summary.

    `train_fn` / `eval_fn` default to `recode.training.run_rl` and the evaluation the config names;
    they are parameters so the bookkeeping can be tested without training. The summary is rewritten
    after every variant, so a crash late in a long ablation keeps what finished.
    """
    variants = _selected(cfg.variants, only)
    _check_evaluation_data(cfg.evaluation)
    out = Path(out_dir or cfg.output_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    train_fn = train_fn or _train
    eval_fn = eval_fn or evaluate_model
    summary: dict[str, Any] = {
        "kind": "ablation",
        "config": str(cfg.source or ""),
        "train_config": str(cfg.train_config),
        "overrides": list(cfg.overrides),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "evaluation": _describe(cfg.evaluation),
        "output_dir": str(out),
        "path": str(out / "ablation.json"),
        "base": None,
        "variants": [],
    }
    say = log or (lambda _message: None)
    # Library bars and notices off for every arm's training and evaluation, the base model's included.
    with quiet_libraries(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers' deprecation notices
        for number, variant in enumerate(variants, start=1):
            rewards = " + ".join(variant.rewards)
            say(f"variant {variant.name} ({number}/{len(variants)}): training with {rewards}")
            started = time.perf_counter()
            with printed_logs_to(out / variant.name / TRAINER_LOG):
                result = train_fn(cfg.train_config, [*cfg.overrides, *variant_overrides(variant, out)])
            seconds = time.perf_counter() - started
            history = list(result.log_history)
            if cfg.evaluate_base and summary["base"] is None and cfg.evaluation is not None:
                summary["base"] = _evaluate_base(cfg, result, out, eval_fn)
            record = {
                "name": variant.name,
                "rewards": list(variant.rewards),
                "weights": variant.weights,
                "output_dir": str(result.output_dir),
                "train_seconds": round(seconds, 2),
                "steps": _last(history, "step"),
                "zero_std_fraction": zero_std_fraction(history),
                "final_reward": _last(history, "reward"),
                "metrics": {},
            }
            if cfg.evaluation is not None:
                say(f"variant {variant.name}: evaluating")
                model = str(result.final_adapter_dir or result.output_dir)
                evaluated = eval_fn(cfg.evaluation, model, Path(result.output_dir) / "eval.json")
                record["metrics"] = dict(evaluated["metrics"])
            summary["variants"].append(record)
            _write(summary, out)
    return summary


def _check_evaluation_data(spec: HeldoutEval | ArenaEval | None) -> None:
    """Fail before any training when the evaluation file is missing, not hours later after the first arm.

    Only names that look like local files are checked (a hub id like `owner/name` is left to the loader).
    """
    source = getattr(spec, "data", None)
    if source is None:
        return
    path = _local(source)
    if is_local_source(path) and not Path(path).exists():
        raise RecodeError(
            f"evaluation.data: {missing_file(source).message}",
            hint="run from the repository root, or give an absolute path in the ablation YAML",
        )


def _selected(variants: Sequence[Variant], only: Sequence[str] | None) -> list[Variant]:
    if not only:
        return list(variants)
    known = [v.name for v in variants]
    unknown = [name for name in only if name not in known]
    if unknown:
        raise RecodeError(f"unknown variant(s) {', '.join(unknown)}", hint=f"choose from {', '.join(known)}")
    return [v for v in variants if v.name in set(only)]


def _write(summary: dict[str, Any], out: Path) -> None:
    path = out / "ablation.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def _describe(spec: HeldoutEval | ArenaEval | None) -> str:
    if spec is None:
        return "no evaluation (training statistics only)"
    if isinstance(spec, HeldoutEval):
        limit = f", first {spec.limit}" if spec.limit else ""
        return f"held-out {spec.data} [{spec.split}{limit}], greedy, scored by {', '.join(spec.metrics)}"
    return f"CodeUpdateArena ({spec.prompt_style}), n={spec.n}, pass@{','.join(map(str, spec.k))}"


def _evaluate_base(cfg: AblationConfig, result: Any, out: Path, eval_fn: EvalFn) -> dict[str, Any] | None:
    """Score the starting model once, so each variant's gain is visible (the table's first row)."""
    base = _base_model(result)
    if base is None:
        return None
    evaluated = eval_fn(cfg.evaluation, base, out / "base" / "eval.json")
    return {"model": base, "metrics": dict(evaluated["metrics"])}


def _base_model(result: Any) -> str | None:
    """The model the adapter was trained on, from its `adapter_config.json` (None if not a saved path)."""
    adapter = getattr(result, "final_adapter_dir", None)
    if adapter is None or not (Path(adapter) / "adapter_config.json").is_file():
        return None
    config = json.loads((Path(adapter) / "adapter_config.json").read_text(encoding="utf-8"))
    return config.get("base_model_name_or_path")


def _train(train_config: Path, overrides: list[str]) -> Any:
    """Default trainer: `recode.training.run_rl` on the YAML with the variant's overrides."""
    from recode.training import run_rl
    from recode.training.config import TrainConfig

    return run_rl(TrainConfig.from_yaml(train_config, overrides))


# ----------------------------------------------------------------------------------------- evaluation


def evaluate_model(spec: HeldoutEval | ArenaEval, model: str, out: Path) -> dict[str, Any]:
    """Evaluate `model` (a path, hub id or adapter folder) as `spec` says; write and return the JSON."""
    if isinstance(spec, HeldoutEval):
        result = evaluate_heldout(spec, model)
    else:
        result = evaluate_arena(spec, model, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


def evaluate_heldout(spec: HeldoutEval, model: str, *, backend: Any | None = None) -> dict[str, Any]:
    """Greedy completions on held-out migration examples, each scored by the spec's metrics."""
    from recode.data.convert import trl_rows
    from recode.data.loaders import load_migration
    from recode.evaluation.backends import GenerationConfig, make_backend

    examples = load_migration(_local(spec.data), split=spec.split)[: spec.limit]
    if not examples:
        raise RecodeError(f"no held-out examples in {spec.data} [{spec.split}]", hint="check evaluation.data")
    rows = trl_rows(examples)
    engine = backend or make_backend("hf", model)
    gen = GenerationConfig(
        n=1, max_new_tokens=spec.max_new_tokens, temperature=0.0, batch_size=spec.batch_size
    )
    completions = [texts[0] for texts in engine.generate([r["prompt"] for r in rows], gen, progress=False)]
    scores = {name: heldout_scores(name, completions, rows) for name in spec.metrics}
    tasks = [
        {
            "task_id": str(i),
            "n": 1,
            "metrics": {name: values[i] for name, values in scores.items() if values[i] is not None},
            "samples": [{"completion": completion}],
        }
        for i, completion in enumerate(completions)
    ]
    metrics = {}
    for name, values in scores.items():
        judged = [v for v in values if v is not None]
        if judged:
            metrics[name] = sum(judged) / len(judged)
    return {
        "kind": "heldout",
        "variant": "standard",
        "model": model,
        "backend": getattr(engine, "name", "hf"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": spec.model_dump(),
        "k": [1],
        "metrics": metrics,
        "groups": {},
        "tasks": tasks,
    }


def heldout_scores(
    name: str, completions: Sequence[str], rows: Sequence[dict[str, Any]]
) -> list[float | None]:
    """Per-completion value of one held-out metric (None where it does not apply)."""
    from recode.rewards import get_reward
    from recode.rewards.execution import ExecScores
    from recode.rewards.extract import extract_code, normalize_code
    from recode.rewards.similarity import edit_similarity

    if name == "well_formed":
        return [1.0 if r > 0 else 0.0 for r in get_reward("format")(list(completions))]
    if name == "exec_pass":
        judged = [i for i, row in enumerate(rows) if row.get("exec_tests")]
        values: list[float | None] = [None] * len(rows)
        if judged:
            columns = {k: [rows[i].get(k) for i in judged] for k in ("target", "exec_setup", "exec_tests")}
            rewards = get_reward("exec")([completions[i] for i in judged], **columns)
            for i, reward in zip(judged, rewards, strict=True):
                values[i] = None if reward is None else float(reward >= ExecScores().passed)
        return values
    out: list[float | None] = []
    for completion, row in zip(completions, rows, strict=True):
        code = extract_code(completion)
        if code is None:
            out.append(0.0)
            continue
        got, want = normalize_code(code), normalize_code(str(row["target"]))
        out.append(float(got == want) if name == "exact_match" else edit_similarity(got, want))
    return out


def _local(source: str) -> str:
    """Expand `~` and `$VARS` in a local data path (hub ids pass through)."""
    expanded = os.path.expanduser(os.path.expandvars(source))
    return expanded if Path(expanded).exists() else source


def evaluate_arena(spec: ArenaEval, model: str, out: Path) -> dict[str, Any]:
    """CodeUpdateArena through `recode.evaluation.arena`, generations cached beside `out`."""
    from recode.data.loaders import arena_path, load_arena
    from recode.evaluation.arena import ExecConfig, evaluate, run_result
    from recode.evaluation.backends import GenerationConfig, make_backend
    from recode.evaluation.generation import generate_candidates
    from recode.evaluation.tasks import standard_tasks

    records = load_arena(spec.data if spec.data is not None else arena_path())
    tasks = standard_tasks(records, style=spec.prompt_style)[: spec.limit]
    gen = GenerationConfig(
        n=spec.n, max_new_tokens=spec.max_new_tokens, temperature=spec.temperature, batch_size=spec.batch_size
    )
    tags = {"model": model, "prompt_style": spec.prompt_style, "variant": "standard"}
    candidates = generate_candidates(
        make_backend(spec.backend, model), tasks, gen, cache=out.with_suffix(".samples.jsonl"), tags=tags
    )
    body = evaluate(tasks, candidates, ks=spec.k, config=ExecConfig(timeout_s=spec.timeout_s))
    config = {"data": str(spec.data or arena_path()), "prompt_style": spec.prompt_style, "n": spec.n}
    return run_result(body, variant="standard", model=model, backend=spec.backend, config=config)
