"""Step 1 of `recode data build`: read release notes and keep the entries that change an API.

Why filter before generating: every entry kept costs one model call and three sandbox runs. Release notes
are mostly bug fixes, performance work and contributor lists; only deprecations, removals, renames and
signature or behaviour changes give a migration pair with a legacy and an updated side.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from recode.data.build.parsers import FORMATS, Chunk, detect_format, parse
from recode.errors import RecodeError

KINDS: tuple[str, ...] = ("rename", "removal", "deprecation", "signature", "behaviour", "api-change")
_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("rename", re.compile(r"\brenam", re.I)),
    ("removal", re.compile(r"(?<!be )\b(removed|removal|expired|dropped|deleted)\b", re.I)),
    ("deprecation", re.compile(r"deprecat", re.I)),
    ("signature", re.compile(r"\b(argument|parameter|keyword|kwarg|signature|positional)", re.I)),
    ("behaviour", re.compile(r"behavio|\bnow (returns|raises)|no longer|\bdefault", re.I)),
)
_RELEVANT_HEADING = re.compile(
    r"deprecat|remov|expired|renam|breaking|incompatib|api change|behavio|signature|migration|upgrad", re.I
)  # a bare "Changed"/"Changes" heading (Keep a Changelog, towncrier) is neutral: the wording decides
_IRRELEVANT_HEADING = re.compile(
    r"bug ?fix|fixed|documentation|\bdocs?\b|performance|contributor|internal|\bbuild\b|packaging|"
    r"\btests?\b|\bci\b|typing|security|dependencies|acknowledg",
    re.I,
)
_RELEVANT_TEXT = re.compile(
    r"deprecat|\bremoved\b|\brenamed\b|no longer|in favou?r of|replaced (by|with)|instead of|"
    r"\bis now\b|\bnow (returns|raises|requires)|has been (changed|moved)|keyword[- ]only|signature",
    re.I,
)
_NOT_API = re.compile(  # support-matrix, typing-stub and bug-fix notes say "dropped"/"is now" too
    r"^(fix(ed|es)?|bug)\b|support for (c?python|pypy|python \d)|(python|pypy) \d+(\.\d+)* support|"
    r"^(c?python|pypy) \d+(\.\d+)* (is|has been|was)\b|\btype stubs?\b|\bnow (faster|correct)\b",
    re.I,
)
_VERSION_IN_HEADING = re.compile(r"(?<![\w.])v?(\d+(?:\.\d+)+(?:(?:a|b|rc|\.post|\.dev)\d+)?)(?![\w.])")


@dataclass(frozen=True)
class ReleaseEntry:
    """One API-relevant release-note entry: what changed in `library` between two versions."""

    library: str
    old_version: str
    new_version: str
    text: str
    kind: str
    section: str
    source: str
    release: str | None = None  # the version heading the entry sat under, for multi-release changelogs

    @property
    def entry_id(self) -> str:
        """Stable id (library, versions, text): the key that resuming and de-duplication use."""
        key = "\0".join((self.library.lower(), self.old_version, self.new_version, self.text))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, **asdict(self)}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> ReleaseEntry:
        return cls(**{k: v for k, v in row.items() if k != "entry_id"})


def harvest(
    sources: Sequence[str | Path],
    library: str,
    old_version: str,
    new_version: str,
    *,
    fmt: str = "auto",
) -> list[ReleaseEntry]:
    """API-relevant entries from every source, in source order, without repeats.

    A changelog that covers several releases is cut to those after `old_version` up to `new_version`.
    """
    if fmt not in FORMATS:
        raise RecodeError(f"unknown release-note format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    low, high = _parse_version(old_version, "--from"), _parse_version(new_version, "--to")
    if low >= high:
        raise RecodeError(
            f"old version {old_version} is not older than new version {new_version}",
            hint="pass --from OLD --to NEW with OLD < NEW",
        )
    entries: dict[str, ReleaseEntry] = {}
    for source in sources:
        text = read_source(source)
        chunks = parse(text, detect_format(text, str(source)) if fmt == "auto" else fmt)
        for entry in _entries(chunks, library, old_version, new_version, str(source), (low, high)):
            entries.setdefault(entry.entry_id, entry)
    return list(entries.values())


def read_source(source: str | Path) -> str:
    """Text of a local file or an http(s) URL. A GitHub release page URL is read through the GitHub API
    (its `body` field), since the page itself is mostly navigation."""
    text = str(source)
    if re.match(r"https?://", text):
        return _fetch(_github_api_url(text) or text)
    path = Path(text).expanduser()
    if not path.is_file():
        raise RecodeError(
            f"{path}: no such release-notes file", hint="pass a local .md/.rst/.txt file or a URL"
        )
    return path.read_text(encoding="utf-8", errors="replace")


def clean_markup(text: str) -> str:
    """Release-note text without RST/Markdown link noise, for prompts and `update_info`.

    ``:func:`pandas.to_datetime` `` → `` `pandas.to_datetime` ``, ``` ``x`` ``` → `` `x` ``, links keep
    their text; bullets are dropped and continuation lines de-indented; fenced code stays as written.
    """
    text = re.sub(r"^\s*(?:[-*+•]|\d+[.)])\s+", "", text, count=1)
    lines = text.splitlines()
    indent = min((len(ln) - len(ln.lstrip()) for ln in lines[1:] if ln.strip()), default=0)
    lines = [lines[0]] + [ln[indent:] if ln[:indent].isspace() else ln for ln in lines[1:]]
    parts = re.split(r"(^\s*(?:```|~~~).*?^\s*(?:```|~~~)[ \t]*$)", "\n".join(lines), flags=re.M | re.S)
    cleaned = "".join(part if i % 2 else _clean_prose(part) for i, part in enumerate(parts))
    return re.sub(r"\n{3,}", "\n\n", cleaned).strip()


def _clean_prose(text: str) -> str:
    text = re.sub(r"\\([#_*\[\]`])", r"\1", text)  # Markdown escapes: raise\_for\_status, \#2382
    text = re.sub(r":(?:issue|pr|gh):`(\d+)`", r"#\1", text)
    text = re.sub(r":pep:`(\d+)`", r"PEP \1", text)
    text = re.sub(r":\w+:`~?([^`<]*?)(?:\s*<[^>]*>)?`", r"`\1`", text)  # :func:`x`, :ref:`t <y>`
    text = re.sub(r"`([^`<]+?)\s*<[^>]+>`__?", r"\1", text)  # `gh-123 <url>`__
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    text = re.sub(r"(?<![\w*`])\*([^*\s`][^*`\n]*?)\*(?![\w*])", r"\1", text)  # *emphasis*, not **kw
    return re.sub(r"\[([^\]]+)\]\((?:[^)]+)\)", r"\1", text)  # [text](url)


def _entries(
    chunks: list[Chunk],
    library: str,
    old_version: str,
    new_version: str,
    source: str,
    bounds: tuple[Version, Version],
) -> list[ReleaseEntry]:
    releases = [_release_of(chunk.headings) for chunk in chunks]
    multi_release = len({r for r in releases if r}) >= 2
    out = []
    for chunk, release in zip(chunks, releases, strict=True):
        if multi_release and not _in_range(release, bounds):
            continue
        if not is_relevant(chunk):
            continue
        text = clean_markup(chunk.text)
        section = " > ".join(h for h in chunk.headings if not _VERSION_IN_HEADING.search(h)) or "-"
        out.append(
            ReleaseEntry(
                library=library,
                old_version=old_version,
                new_version=new_version,
                text=text,
                kind=classify(section + "\n" + text),
                section=section,
                source=source,
                release=release,
            )
        )
    return out


def is_relevant(chunk: Chunk) -> bool:
    """Keep entries under API-change headings, and elsewhere those whose wording announces a change;
    never those under bug-fix/docs/performance/contributor headings or too short to describe anything."""
    text = " ".join(chunk.text.split())  # wording wraps across lines: "instead\n    of"
    if len(re.findall(r"[A-Za-z]{2,}", text)) < 3:
        return False
    if _NOT_API.search(re.sub(r"^\W*(?:[-*+•]|\d+[.)])?\s*", "", text)):
        return False
    if any(_IRRELEVANT_HEADING.search(h) for h in chunk.headings):
        return False
    if any(_RELEVANT_HEADING.search(h) for h in chunk.headings):
        return True
    return bool(_RELEVANT_TEXT.search(text))


def classify(text: str) -> str:
    """The first matching kind in `KINDS` order (a rename that also deprecates counts as a rename)."""
    text = " ".join(text.split())
    return next((kind for kind, pattern in _KIND_PATTERNS if pattern.search(text)), "api-change")


def _release_of(headings: tuple[str, ...]) -> str | None:
    for heading in reversed(headings):
        match = _VERSION_IN_HEADING.search(heading)
        if match:
            return match.group(1)
    return None


def _in_range(release: str | None, bounds: tuple[Version, Version]) -> bool:
    if release is None:
        return False
    try:
        return bounds[0] < Version(release) <= bounds[1]
    except InvalidVersion:
        return False


def _parse_version(value: str, option: str) -> Version:
    try:
        return Version(value)
    except InvalidVersion:
        raise RecodeError(
            f"{option} {value!r} is not a version", hint="use a PEP 440 version like 2.0.0"
        ) from None


def _github_api_url(url: str) -> str | None:
    match = re.match(r"https://github\.com/([^/]+)/([^/]+)/releases/tag/([^/?#]+)", url)
    if not match:
        return None
    owner, repo, tag = match.groups()
    return f"https://api.github.com/repos/{owner}/{repo}/releases/tags/{tag}"


def request_headers(url: str) -> dict[str, str]:
    """Headers for fetching `url`; the GitHub API gets `$GITHUB_TOKEN` when set, since it allows only 60
    unauthenticated requests an hour per address (shared machines and CI hit that quickly)."""
    headers = {"User-Agent": "recode-data-build", "Accept": "*/*"}
    token = os.environ.get("GITHUB_TOKEN")
    if token and urllib.parse.urlsplit(url).hostname == "api.github.com":
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _fetch(url: str) -> str:
    request = urllib.request.Request(url, headers=request_headers(url))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            charset = response.headers.get_content_charset() or "utf-8"
            body = response.read().decode(charset, errors="replace")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise RecodeError(
            f"could not fetch {url}: {exc}", hint="check the URL and the network, or download the file"
        ) from None
    if "api.github.com" in url:
        return json.dumps({"body": json.loads(body).get("body") or ""})
    return body
