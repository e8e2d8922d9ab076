"""Harvesting release notes: each common format splits into the right entries, and only API changes stay."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import release_note_snippets as notes

from recode.data.build.harvest import ReleaseEntry, clean_markup, harvest, request_headers
from recode.data.build.parsers import detect_format, is_descriptive_heading, parse_markdown
from recode.errors import RecodeError


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _harvest(tmp_path: Path, name: str, text: str, old: str = "1.0", new: str = "3.0") -> list[ReleaseEntry]:
    return harvest([_write(tmp_path, name, text)], "lib", old, new)


def test_numpy_rst_bullets_and_titled_subsections(tmp_path: Path) -> None:
    entries = _harvest(tmp_path, "1.25.0-notes.rst", notes.NUMPY_RST)
    texts = [e.text for e in entries]
    assert len(entries) == 4  # 2 bullets + 1 titled subsection under Deprecations, 1 expired deprecation
    assert texts[0].startswith("`np.core.MachAr` is deprecated") and "(gh-22638)" in texts[0]
    titled = texts[2]
    assert titled.startswith("`np.find_common_type` is deprecated\n")
    assert "np.find_common_type([np.int64, np.uint64], [])" in titled  # the literal block stays
    assert "(gh-22539)" in titled  # the reference line is merged, not a separate entry
    assert [e.kind for e in entries] == ["deprecation"] * 3 + ["removal"]
    assert all("Performance" not in e.section and "Contributors" not in e.section for e in entries)
    assert {e.release for e in entries} == {"1.25.0"}


def test_pandas_whatsnew_rst(tmp_path: Path) -> None:
    entries = _harvest(tmp_path, "v2.0.0.rst", notes.PANDAS_RST)
    sections = [e.section for e in entries]
    assert sections.count("Deprecations") == 2
    assert sections.count("Removal of prior version deprecations/changes") == 2
    assert not any("Bug fixes" in s or "Enhancements" in s for s in sections)
    removal = next(e for e in entries if "Series.append" in e.text)
    assert removal.text == "Removed `Series.append` and `DataFrame.append`, use `concat` instead (#35407)"
    assert removal.kind == "removal"
    incompatible = [e for e in entries if e.section == "Backwards incompatible API changes"]
    assert len(incompatible) == 1 and incompatible[0].text.startswith("Construction with datetime64")


def test_keep_a_changelog_keeps_only_releases_in_range(tmp_path: Path) -> None:
    entries = _harvest(tmp_path, "CHANGELOG.md", notes.KEEP_A_CHANGELOG_MD, old="2.0.0", new="3.0.0")
    assert [e.release for e in entries] == ["3.0.0", "3.0.0", "2.1.0"]  # not Unreleased, not 2.0.0
    deprecated = entries[1]
    assert deprecated.kind == "deprecation"
    assert '```python\n# before\ndata = client.get_json("/items")' in deprecated.text  # code kept verbatim
    assert not any("Crash when the server" in e.text for e in entries)  # under "Fixed"
    assert not any("Python 3.7 support" in e.text for e in entries)  # too short to be an API change


def test_github_release_body_drops_trailers_contributors_and_chores(tmp_path: Path) -> None:
    entries = _harvest(tmp_path, "release.md", notes.GITHUB_RELEASE_MD)
    assert [e.text for e in entries] == [
        "Rename `load_config` to `read_config`",
        "Drop the positional `timeout` argument of `connect`; pass `timeout=` by keyword",
        "`Session.close()` no longer raises when called twice",
    ]
    assert [e.kind for e in entries] == ["rename", "signature", "behaviour"]
    assert entries[0].section == "What's Changed > Breaking Changes"  # emoji dropped


def test_github_api_json_body_is_read(tmp_path: Path) -> None:
    payload = json.dumps({"tag_name": "v2.0.0", "body": notes.GITHUB_RELEASE_MD})
    assert detect_format(payload) == "github"
    entries = _harvest(tmp_path, "release.json", payload)
    assert len(entries) == 3


def test_plain_text_fallback_uses_keywords(tmp_path: Path) -> None:
    entries = _harvest(tmp_path, "NEWS", notes.PLAIN_TEXT)
    assert detect_format(notes.PLAIN_TEXT) == "text"
    assert [e.kind for e in entries] == ["removal", "rename"]
    assert (
        entries[0].text == "old_fn() has been removed; use new_fn() instead, which takes the same\nargument."
    )


def test_html_release_page(tmp_path: Path) -> None:
    entries = _harvest(tmp_path, "notes.html", notes.HTML_PAGE)
    assert [e.text for e in entries] == [
        "`fakelib.old_fn` is deprecated, use `fakelib.new_fn` instead.",
        "The `flag` argument of `run` is deprecated.",
    ]


def test_comment_in_code_fence_is_not_a_heading() -> None:
    text = "## Removed\n- `f()` removed, use `g()`:\n\n  ```python\n  # Removed in 2.0\n  g()\n  ```\n"
    chunks = parse_markdown(text)
    assert len(chunks) == 1 and "# Removed in 2.0" in chunks[0].text


def test_descriptive_headings() -> None:
    assert is_descriptive_heading("``np.find_common_type`` is deprecated")
    assert is_descriptive_heading("Increased minimum version for Python to 3.9")
    assert not is_descriptive_heading("Backwards incompatible API changes")
    assert not is_descriptive_heading("NumPy 1.25.0 Release Notes")


def test_clean_markup_roles_and_links() -> None:
    raw = (
        "- :meth:`DataFrame.append` is removed, see `the guide <https://x.org>`__ and [docs](https://y)\n"
        "  (:issue:`1`, :pep:`538`)"
    )
    assert clean_markup(raw) == "`DataFrame.append` is removed, see the guide and docs\n(#1, PEP 538)"


def test_entries_are_deduplicated_across_sources_and_ids_stable(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.md", notes.GITHUB_RELEASE_MD)
    b = _write(tmp_path, "b.md", notes.GITHUB_RELEASE_MD)
    first = harvest([a, b], "lib", "1.0", "2.0")
    assert len(first) == 3
    assert [e.entry_id for e in first] == [e.entry_id for e in harvest([a], "lib", "1.0", "2.0")]
    assert ReleaseEntry.from_dict(first[0].to_dict()) == first[0]


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecodeError, match="no such release-notes file"):
        harvest([tmp_path / "missing.md"], "lib", "1.0", "2.0")
    with pytest.raises(RecodeError, match="not older"):
        harvest([_write(tmp_path, "x.md", "x")], "lib", "2.0", "1.0")
    with pytest.raises(RecodeError, match="not a version"):
        harvest([_write(tmp_path, "x.md", "x")], "lib", "one", "2.0")


@pytest.fixture
def notes_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = notes.PANDAS_RST.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/whatsnew/v2.0.0.rst"
    server.shutdown()
    server.server_close()


def test_url_source(notes_server: str) -> None:
    entries = harvest([notes_server], "pandas", "1.5.3", "2.0.0")
    assert len(entries) == 5 and entries[0].source == notes_server
    with pytest.raises(RecodeError, match="could not fetch"):
        harvest([notes_server.rsplit(":", 1)[0] + ":1/x.rst"], "pandas", "1.5.3", "2.0.0")


def test_github_release_page_is_read_through_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []

    def fake_fetch(url: str) -> str:
        fetched.append(url)
        return json.dumps({"body": notes.GITHUB_RELEASE_MD})

    monkeypatch.setattr("recode.data.build.harvest._fetch", fake_fetch)
    entries = harvest(["https://github.com/acme/tool/releases/tag/v2.0.0"], "tool", "1.4.0", "2.0.0")
    assert fetched == ["https://api.github.com/repos/acme/tool/releases/tags/v2.0.0"]
    assert len(entries) == 3


def test_requests_style_setext_releases_and_bold_sections(tmp_path: Path) -> None:
    entries = _harvest(tmp_path, "HISTORY.md", notes.REQUESTS_STYLE_MD, old="2.30.0", new="2.32.0")
    assert [(e.release, e.section) for e in entries] == [
        ("2.32.0", "Release History > Deprecations"),
        ("2.31.0", "Release History > Improvements"),
    ]  # not `dev`, not 2.30.0, not the Python-support note, not the bug fix
    assert entries[0].text.startswith("`HTTPAdapter.get_connection` is deprecated in favour of")
    assert entries[1].text.endswith("(#6440)")  # Markdown escape removed
    assert entries[1].kind == "behaviour"


def test_click_style_rst_nested_bullets_and_kinds(tmp_path: Path) -> None:
    """A summary bullet over nested bullets is one entry per nested change, each led by the summary;
    wording wrapped over two lines ("instead" / "of") still counts."""
    entries = _harvest(tmp_path, "CHANGES.rst", notes.CLICK_STYLE_RST, old="8.0.3", new="8.1.0")
    summary = "Remove previously deprecated code. #2130\n"
    assert [(e.text, e.kind) for e in entries[:2]] == [
        (summary + "`Group.resultcallback` is renamed to `result_callback`.", "rename"),
        (summary + "`autocompletion` parameter to `Command` is renamed to\n`shell_complete`.", "rename"),
    ]
    assert [e.text.splitlines()[0] for e in entries[2:]] == [
        "`Context.get_usage` no longer prints a trailing newline. #2148",
        "`Command.show_default` overrides `Context.show_default`, instead",
        "`get_terminal_size` is deprecated and will be removed in 8.1; use",
    ]
    assert [e.kind for e in entries[2:]] == ["behaviour", "api-change", "deprecation"]


def test_scipy_rst_overlined_sections(tmp_path: Path) -> None:
    """SciPy notes title sections with `*` over- and underlines; feature notes and authors are not kept."""
    entries = _harvest(tmp_path, "1.12.0-notes.rst", notes.SCIPY_RST, old="1.11.4", new="1.12.0")
    assert [(e.section, e.kind) for e in entries] == [
        ("Deprecated features", "deprecation"),
        ("Deprecated features", "deprecation"),
        ("Backwards incompatible changes", "removal"),
    ]
    assert entries[0].text == (
        "`scipy.signal.cmplx_sort` is deprecated and will be removed in SciPy\n"
        "1.15. A replacement you can use is provided in the deprecation message."
    )
    assert 'use `method="highs"`' in entries[1].text


def test_towncrier_changes_heading_is_neutral(tmp_path: Path) -> None:
    """A generic "Changes" section keeps only entries whose wording announces a change of the API;
    Python-support, typing-stub and speed notes are dropped wherever they sit."""
    entries = _harvest(tmp_path, "CHANGELOG.md", notes.TOWNCRIER_MD, old="23.2.0", new="24.1.0")
    assert [(e.section, e.text) for e in entries] == [
        (
            "Changelog > Deprecations",
            "Passing frozen positionally to `define()` is deprecated; pass it by keyword. #1210",
        ),
        ("Changelog > Changes", "`Widget.render()` now returns a `str` instead of `bytes`. #1220"),
    ]
    assert [e.kind for e in entries] == ["deprecation", "behaviour"]


def test_github_token_goes_only_to_the_github_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    api = request_headers("https://api.github.com/repos/acme/tool/releases/tags/v2.0.0")
    assert api["Authorization"] == "Bearer ghp_test"
    assert "Authorization" not in request_headers("https://api.github.com.evil.example/x")
    assert "Authorization" not in request_headers("https://raw.githubusercontent.com/acme/tool/CHANGES.md")
    monkeypatch.delenv("GITHUB_TOKEN")
    assert "Authorization" not in request_headers("https://api.github.com/repos/acme/tool/releases")
