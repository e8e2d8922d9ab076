"""Per-version environments: created from local wheels, reused, rebuilt when half-built, clear errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from recode.data.build.envs import MARKER, EnvCache, EnvSettings, find_uv
from recode.errors import RecodeError


def test_envs_hold_the_right_versions_and_are_reused(
    fake_pythons: tuple[Path, Path], env_settings: EnvSettings
) -> None:
    old_python, new_python = fake_pythons
    assert old_python != new_python and old_python.exists() and new_python.exists()
    marker = json.loads((old_python.parent.parent / MARKER).read_text())
    assert marker["requirements"] == ["fakelib==1.0"] and marker["installer"] == "pip"
    assert EnvCache(env_settings).python_for("fakelib", "1.0") == old_python  # cached, not rebuilt
    assert (old_python.parent.parent / MARKER).read_text() == json.dumps(marker, indent=1)


def test_half_built_env_is_rebuilt(env_settings: EnvSettings, tmp_path: Path) -> None:
    settings = EnvSettings(root=tmp_path, find_links=env_settings.find_links, no_index=True, installer="pip")
    cache = EnvCache(settings)
    broken = tmp_path / cache.env_name("fakelib", "1.0")
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "python").write_text("not an interpreter")
    python = cache.python_for("fakelib", "1.0")
    assert (broken / MARKER).is_file() and python.resolve() != (broken / "bin" / "python")


def test_missing_version_is_a_clear_error(env_settings: EnvSettings, tmp_path: Path) -> None:
    settings = EnvSettings(root=tmp_path, find_links=env_settings.find_links, no_index=True, installer="pip")
    with pytest.raises(RecodeError, match=r"could not install fakelib==9\.9") as info:
        EnvCache(settings).python_for("fakelib", "9.9")
    assert "--find-links" in str(info.value.hint)
    assert not (tmp_path / EnvCache(settings).env_name("fakelib", "9.9") / MARKER).exists()


@pytest.mark.skipif(find_uv() is None, reason="uv is not installed (the pip path is tested above)")
def test_uv_installer(env_settings: EnvSettings, tmp_path: Path) -> None:
    settings = EnvSettings(root=tmp_path, find_links=env_settings.find_links, no_index=True, installer="uv")
    python = EnvCache(settings).python_for("fakelib", "2.0")
    done = subprocess.run(
        [python, "-c", "import fakelib; print(fakelib.new_fn(2))"], capture_output=True, text=True
    )
    assert done.stdout.strip() == "4"
    assert json.loads((python.parent.parent / MARKER).read_text())["installer"] == "uv"


def test_unknown_installer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecodeError, match="unknown installer"):
        EnvCache(EnvSettings(root=tmp_path, installer="conda"))
