"""Execution verification of pairs: real sandbox, real per-version environments of a fake library."""

from __future__ import annotations

from pathlib import Path

import pytest

verify = pytest.importorskip(
    "recode.data.build.verify", reason="recode.sandbox is not available yet", exc_type=ImportError
)
VerifyConfig, verify_pair = verify.VerifyConfig, verify.verify_pair

OLD = "import fakelib\nprint(fakelib.old_fn(21))"
NEW = "import fakelib\nprint(fakelib.new_fn(21))"


def test_pair_kept_and_old_code_fails_on_new_version(fake_pythons: tuple[Path, Path]) -> None:
    verdict = verify_pair(OLD, NEW, *fake_pythons)
    assert verdict.kept and verdict.observable == "error"
    assert verdict.runs["old_under_new"].error_type == "AttributeError"
    assert verdict.to_dict()["runs"]["new_under_new"]["completed"] is True


def test_deprecation_warning_is_recorded(fake_pythons: tuple[Path, Path]) -> None:
    old = "import fakelib\nassert fakelib.legacy_fn(3) == 2"
    verdict = verify_pair(old, "import fakelib\nassert fakelib.new_fn(1) == 2", *fake_pythons)
    assert verdict.kept and verdict.observable == "warning"
    assert verdict.runs["old_under_new"].warnings == (
        "DeprecationWarning: legacy_fn is deprecated, use new_fn",
    )
    assert verdict.runs["old_under_old"].warnings == ()


def test_rejections_keep_their_reason(fake_pythons: tuple[Path, Path]) -> None:
    broken_new = verify_pair(OLD, "import fakelib\nprint(fakelib.renamed_fn(1))", *fake_pythons)
    assert broken_new.reason == "new_code_fails_on_new_version"
    assert broken_new.detail == "AttributeError: module 'fakelib' has no attribute 'renamed_fn'"
    broken_old = verify_pair(NEW, NEW, *fake_pythons)
    assert broken_old.reason == "old_code_fails_on_old_version" and "new_fn" in str(broken_old.detail)
    early_exit = verify_pair("import sys\nsys.exit(0)\nprint('never')", NEW, *fake_pythons)
    assert early_exit.reason == "old_code_fails_on_old_version" and early_exit.detail == "incomplete"


def test_require_observable(fake_pythons: tuple[Path, Path]) -> None:
    same_everywhere = "import fakelib\nprint(fakelib.__name__)"
    lenient = verify_pair(same_everywhere, same_everywhere + "\nprint(1)", *fake_pythons)
    assert lenient.kept and lenient.observable == "none"
    strict = verify_pair(
        same_everywhere, same_everywhere + "\nprint(1)", *fake_pythons, VerifyConfig(require_observable=True)
    )
    assert strict.reason == "update_not_observable"


def test_behaviour_change_is_observable_through_output(fake_pythons: tuple[Path, Path]) -> None:
    # `fakelib.__doc__` differs between 1.0 and 2.0: the legacy code runs on 2.0 but prints another line
    old = "import fakelib\nprint(fakelib.__doc__.split(':')[0])"
    verdict = verify_pair(old, "import fakelib\nprint('fakelib 1.0')", *fake_pythons)
    assert verdict.kept and verdict.observable == "output" and verdict.same_output is True
    assert verdict.runs["old_under_old"].stdout == "fakelib 1.0\n"
    assert verdict.runs["old_under_new"].stdout == "fakelib 2.0\n"
    differs = verify_pair(OLD, "import fakelib\nprint(fakelib.new_fn(20))", *fake_pythons)
    assert differs.kept and differs.same_output is False


def test_snippet_runs_as_a_real_main_module(fake_pythons: tuple[Path, Path]) -> None:
    """Classes defined by a snippet pickle (they live in `__main__`); its own exception is the detail."""
    pickles = (
        "import dataclasses, pickle\n@dataclasses.dataclass\nclass P:\n    x: int\n"
        "assert pickle.loads(pickle.dumps(P(1))) == P(1)\nprint('ok')"
    )
    assert verify_pair(pickles, pickles + "\n", *fake_pythons).kept
    failing = verify_pair("x = 1\nraise ValueError('boom at line two')", NEW, *fake_pythons)
    assert failing.detail == "ValueError: boom at line two"
