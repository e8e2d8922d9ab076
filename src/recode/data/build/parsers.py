"""Turn release notes (RST, Markdown, GitHub release bodies, HTML, plain text) into titled chunks.

Why one intermediate shape: every format reduces to "a heading path and the items under it". The
relevance filter, the version filter and the entry model (`harvest.py`) then work the same for all of
them, so adding a format means writing one function that yields `Chunk`s, nothing else.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

FORMATS: tuple[str, ...] = ("auto", "rst", "markdown", "github", "html", "text")

_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+<>:._])\1{2,}\s*$")
_RST_DIRECTIVE = re.compile(r"^\.\.\s")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^([=-])\1{2,}\s*$")
_MD_BOLD_HEADING = re.compile(r"^\*\*([^*]{2,80}?):?\*\*:?\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_BULLET = re.compile(r"^(\s*)(?:[-*+•]|\d+[.)])\s+")
_GITHUB_TRAILER = re.compile(r"\s+by @[\w-]+(?:\[bot\])? in (?:https://\S+|#\d+)\s*$")
_VERSION_ONLY = re.compile(r"^\W*(?:[\w'’-]+\s+){0,4}v?\d+(?:\.\d+)+\S*(?:\s+.*)?$")
_GITHUB_DROP = re.compile(r"new contributors|full changelog|contributors", re.I)


@dataclass(frozen=True)
class Chunk:
    """One item of release notes: the headings above it (outermost first) and its text."""

    headings: tuple[str, ...]
    text: str


def detect_format(text: str, name: str = "") -> str:
    """Guess the format from the file name first, then from the content.

    GitHub release bodies are Markdown with tell-tale trailers (`by @user in URL`, `Full Changelog`);
    they get their own parser because those trailers and the contributor lists are noise.
    """
    lower = name.lower()
    stripped = text.lstrip()
    if stripped.startswith("{") and '"body"' in stripped[:20000]:
        return "github"
    if lower.endswith((".html", ".htm")) or stripped[:200].lower().startswith(("<!doctype html", "<html")):
        return "html"
    if re.search(
        r"\*\*Full Changelog\*\*|^#+\s*What'?s Changed|by @[\w-]+ in https://github\.com/", text, re.M
    ):
        return "github"
    if lower.endswith((".rst", ".rest")):
        return "rst"
    if lower.endswith((".md", ".markdown")):
        return "markdown"
    lines = text.splitlines()
    if any(_MD_HEADING.match(line) for line in lines):
        return "markdown"
    if any(_is_rst_title(lines, i) for i in range(len(lines) - 1)):
        return "rst"
    return "text"


def parse(text: str, fmt: str) -> list[Chunk]:
    """Chunks of `text` in format `fmt` (one of `FORMATS` other than "auto")."""
    parsers = {
        "rst": parse_rst,
        "markdown": parse_markdown,
        "github": parse_github_release,
        "html": parse_html,
        "text": parse_text,
    }
    return parsers[fmt](text)


def parse_rst(text: str) -> list[Chunk]:
    """reStructuredText changelogs (NumPy, SciPy, pandas `whatsnew`): heading levels come from the
    order in which underline characters first appear, as in docutils."""
    lines = list(_drop_rst_directives(text.splitlines()))
    levels: dict[tuple[str, bool], int] = {}
    stack: list[tuple[int, str]] = []
    sections: list[tuple[tuple[str, ...], list[str]]] = [((), [])]
    i = 0
    while i < len(lines):
        overline = bool(_RST_ADORNMENT.match(lines[i])) and _is_rst_title(lines, i + 1)
        if overline or _is_rst_title(lines, i):
            title_at = i + 1 if overline else i
            style = (lines[title_at + 1].strip()[0], overline)
            level = levels.setdefault(style, len(levels))
            stack = [entry for entry in stack if entry[0] < level] + [(level, lines[title_at].strip())]
            sections.append((tuple(title for _, title in stack), []))
            i = title_at + 2
            continue
        sections[-1][1].append(lines[i])
        i += 1
    return [chunk for headings, body in sections for chunk in _section_chunks(headings, body)]


def parse_markdown(text: str) -> list[Chunk]:
    """Markdown changelogs ("Keep a Changelog" `### Deprecated`, `## 2.0.0` per release, underlined
    "2.32.3 (2024-05-29)\\n---" release titles as in requests' HISTORY.md, bold pseudo-headings).

    Lines inside code fences are never headings (a `# comment` in an example is code, not a title).
    """
    lines = text.splitlines()
    stack: list[tuple[int, str]] = []
    sections: list[tuple[tuple[str, ...], list[str]]] = [((), [])]
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        setext = None if in_fence else _setext_heading(lines, i)
        heading = setext or (None if in_fence else _md_heading(line))
        if heading is None:
            sections[-1][1].append(line)
            i += 1
            continue
        level, title = heading
        stack = [entry for entry in stack if entry[0] < level] + [(level, title)]
        sections.append((tuple(t for _, t in stack), []))
        i += 2 if setext else 1  # an underline is part of its title
    return [chunk for headings, body in sections for chunk in _section_chunks(headings, body)]


def _setext_heading(lines: list[str], i: int) -> tuple[int, str] | None:
    """`Title` over `===` (level 1) or `---` (level 2), after a blank line (else `---` is a rule)."""
    if i + 1 >= len(lines) or (i > 0 and lines[i - 1].strip()):
        return None
    title, under = lines[i], lines[i + 1]
    if not title.strip() or title.startswith((" ", "\t")) or _BULLET.match(title):
        return None
    match = _SETEXT_UNDERLINE.match(under)
    return (1 if match.group(1) == "=" else 2, _clean_heading(title)) if match else None


def parse_github_release(text: str) -> list[Chunk]:
    """A GitHub release body (raw Markdown, or the API's JSON with a `body` field).

    Drops contributor lists and the "Full Changelog" link, and strips `by @user in URL` trailers.
    """
    stripped = text.lstrip()
    if stripped.startswith("{"):
        with contextlib.suppress(json.JSONDecodeError, AttributeError):
            text = str(json.loads(stripped).get("body") or "")
    chunks = []
    for chunk in parse_markdown(text):
        if any(_GITHUB_DROP.search(h) for h in chunk.headings) or _GITHUB_DROP.search(chunk.text[:40]):
            continue
        lines = [_GITHUB_TRAILER.sub("", line) for line in chunk.text.splitlines()]
        chunks.append(Chunk(chunk.headings, "\n".join(lines).strip()))
    return [c for c in chunks if c.text]


def parse_text(text: str) -> list[Chunk]:
    """Plain text: no headings, one chunk per bullet or paragraph; relevance is decided by keywords."""
    return list(_section_chunks((), text.splitlines()))


def parse_html(text: str) -> list[Chunk]:
    """Rendered release-note pages (e.g. a Sphinx `release/2.0.0-notes.html`): headings, list items and
    code blocks are converted to Markdown, everything else to plain paragraphs, then parsed as Markdown."""
    converter = _HtmlToMarkdown()
    converter.feed(text)
    converter.close()
    return parse_markdown(converter.markdown())


def _is_rst_title(lines: list[str], i: int) -> bool:
    """`lines[i]` is a title if the next line is an adornment at least as long as the (short) title."""
    if i + 1 >= len(lines):
        return False
    title, under = lines[i].rstrip(), lines[i + 1].rstrip()
    if not title.strip() or _RST_ADORNMENT.match(title) or title.startswith((" ", "\t")):
        return False
    return bool(_RST_ADORNMENT.match(under)) and len(under) >= min(len(title), 4) and len(title) <= 200


def _drop_rst_directives(lines: list[str]) -> Iterator[str]:
    """Drop labels/comments (`.. _whatsnew_200.deprecations:`) and `.. toctree::`-like directives with
    their indented options; keep code directives' bodies (they show the API) as indented text."""
    skipping = False
    for line in lines:
        if _RST_DIRECTIVE.match(line):
            skipping = not re.match(
                r"^\.\.\s+(code-block|code|ipython|sourcecode|versionchanged|deprecated)", line
            )
            if not skipping:
                yield ""
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        yield line


def _md_heading(line: str) -> tuple[int, str] | None:
    match = _MD_HEADING.match(line)
    if match:
        return len(match.group(1)), _clean_heading(match.group(2))
    match = _MD_BOLD_HEADING.match(line.strip())
    if match:
        return 7, _clean_heading(match.group(1))  # bold pseudo-headings nest below every real heading
    return None


def _clean_heading(title: str) -> str:
    """Drop emoji and link brackets so `## 💥 Breaking Changes` and `## [2.0.0] - 2024-01-01` match."""
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)
    title = re.sub(r"[^\w\s.,:;'`()\[\]/+&-]", "", title)
    return re.sub(r"\s+", " ", title.replace("[", "").replace("]", "")).strip()


def _section_chunks(headings: tuple[str, ...], body: list[str]) -> Iterator[Chunk]:
    """Items of one section. A section whose body has no bullets and sits under a heading that names
    the change itself (NumPy: "``np.find_common_type`` is deprecated") is one item, title included."""
    items = _split_items(body)
    has_bullets = any(_BULLET.match(line) for line in body if not line.startswith((" ", "\t")))
    if headings and is_descriptive_heading(headings[-1]) and not has_bullets and items:
        yield Chunk(headings[:-1], headings[-1] + "\n\n" + "\n\n".join(items))
        return
    for item in items:
        for piece in split_nested(item):
            yield Chunk(headings, piece)


def split_nested(item: str) -> list[str]:
    """One item per nested bullet when a bullet is a summary over a list of changes.

    Why: "Remove previously deprecated code." followed by one sub-bullet per removed or renamed name is
    several migrations, and one prompt per change gives one focused pair each. Every piece keeps the
    summary line first (it says what kind of change this is), then the sub-bullet's text.
    """
    lines = item.splitlines()
    starts, in_fence = [], False
    for i, line in enumerate(lines):
        in_fence = in_fence != bool(_FENCE.match(line))
        if i and not in_fence and line[:1] in (" ", "\t") and _BULLET.match(line):
            starts.append(i)
    indents = {len(lines[i]) - len(lines[i].lstrip()) for i in starts}
    starts = [i for i in starts if len(lines[i]) - len(lines[i].lstrip()) == min(indents, default=0)]
    head = "\n".join(lines[: starts[0]]).strip() if starts else ""
    if len(starts) < 2 or not head:
        return [item]
    bounds = [*starts, len(lines)]
    pieces = []
    for start, end in itertools.pairwise(bounds):
        body = [_BULLET.sub("", lines[start], count=1).strip()]
        body += [line.strip() for line in lines[start + 1 : end] if line.strip()]
        pieces.append(head + "\n" + "\n".join(body))
    return pieces


def is_descriptive_heading(title: str) -> bool:
    """A heading that states a change ("``np.find_common_type`` is deprecated") rather than naming a
    category ("Deprecations", "Backwards incompatible API changes") or a release ("2.0.0 (2024-01-01)")."""
    if _VERSION_ONLY.match(title):
        return False
    has_code = bool(re.search(r"`|\w\(|\w\.\w", title))
    return has_code or len(title.split()) >= 5


def _split_items(body: list[str]) -> list[str]:
    """Split a section body at top-level bullets and at unindented paragraphs after a blank line.

    Indented lines (bullet continuations, literal blocks) and fenced code stay with their item; a short
    trailing reference line like "(`gh-22539 <…>`__)" is merged into the item before it.
    """
    items: list[list[str]] = []
    in_fence = False
    previous_blank = True
    for line in body:
        fence = bool(_FENCE.match(line))
        starts = not in_fence and line.strip() and not line.startswith((" ", "\t"))
        starts = starts and (previous_blank or bool(_BULLET.match(line)))
        if starts or not items:
            items.append([])
        items[-1].append(line)
        in_fence = in_fence != fence
        previous_blank = not line.strip()
    texts: list[str] = []
    for lines in items:
        text = "\n".join(lines).strip("\n")
        if not text.strip():
            continue
        if texts and len(_words(text)) < 4 and not _BULLET.match(text):
            texts[-1] += "\n" + text
        else:
            texts.append(text)
    return texts


def _words(text: str) -> list[str]:
    cleaned = re.sub(r"`[^`]*<[^>]*>`_+|https?://\S+|:\w+:`[^`]*`|[()]", " ", text)
    return re.findall(r"[A-Za-z]{2,}", cleaned)


class _HtmlToMarkdown(HTMLParser):
    """Just enough HTML → Markdown for release-note pages: h1–h6, li, pre/code, p and br."""

    _BLOCKS = frozenset({"p", "div", "section", "dd", "dt", "table", "tr", "blockquote"})
    _SKIP = frozenset({"script", "style", "nav", "header", "footer", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._skip_depth = 0
        self._pre = 0
        self._list_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip_depth += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self._list_depth += 1
            self._out.append("\n\n" + "  " * (self._list_depth - 1) + "- ")
        elif tag == "pre":
            self._pre += 1
            self._out.append("\n\n```\n")
        elif tag == "code" and not self._pre:
            self._out.append("`")
        elif tag == "br":
            self._out.append("\n")
        elif tag in self._BLOCKS and not (self._out and self._out[-1].endswith("- ")):
            self._out.append("\n\n")  # a paragraph that opens a list item stays on the bullet line

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif re.fullmatch(r"h[1-6]", tag):
            self._out.append("\n\n")
        elif tag == "li":
            self._list_depth = max(0, self._list_depth - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
            self._out.append("\n```\n\n")
        elif tag == "code" and not self._pre:
            self._out.append("`")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre:
            self._out.append(data)
        else:
            self._out.append(re.sub(r"\s+", " ", data.replace("¶", "")))

    def markdown(self) -> str:
        text = html.unescape("".join(self._out))
        text = re.sub(r"[ \t]+\n", "\n", text)
        text = re.sub(r"(#{1,6}) +\n+", r"\1 ", text)  # heading text that started on a new line
        return re.sub(r"\n{3,}", "\n\n", text)
