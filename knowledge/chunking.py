"""Documents to sections to overlapping chunks (pure functions, no I/O).

A section is a run of text under one heading path (Markdown) or on one page (PDF);
chunks never cross sections, so every chunk can be cited by its section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_MAX_WORDS = 160
DEFAULT_OVERLAP_WORDS = 40

_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_WORD_SPAN_RE = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Section:
    """Text under a heading path, e.g. ("Battery safety", "SOC floors"), or on a page."""

    path: tuple[str, ...]
    text: str
    page: int | None = None


@dataclass(frozen=True, slots=True)
class ChunkDraft:
    """A passage to index, before it has an id."""

    ordinal: int
    section: str  # "SOC floors > LiFePO4", "page 3", or "" for the document as a whole
    text: str
    page: int | None = None


def markdown_sections(text: str) -> list[Section]:
    """Split Markdown on ATX headings (outside code fences), keeping the heading hierarchy."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(path=tuple(title for _, title in stack), text=body))
        lines.clear()

    for line in text.splitlines():
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING_RE.match(line)
        if match is None:
            lines.append(line)
            continue
        flush()
        level = len(match.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, match.group(2).strip()))
    flush()
    return sections


def markdown_title(text: str) -> str | None:
    """The first level-1 heading, if any."""
    in_fence = False
    for line in text.splitlines():
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING_RE.match(line)
        if match is not None and len(match.group(1)) == 1:
            return match.group(2).strip()
    return None


def text_sections(text: str) -> list[Section]:
    """Plain text is one section without a heading."""
    body = text.strip()
    return [Section(path=(), text=body)] if body else []


def section_label(section: Section, *, title: str) -> str:
    """How a section is cited: its heading path without the document's own title."""
    if section.page is not None:
        return f"page {section.page}"
    path = section.path[1:] if section.path and section.path[0] == title else section.path
    return " > ".join(path)


def split_words(text: str, *, max_words: int, overlap_words: int) -> list[str]:
    """Windows of at most ``max_words`` words, each sharing ``overlap_words`` with the last.

    The text of each window is cut from the original, so line breaks survive.
    """
    if max_words <= 0 or not 0 <= overlap_words < max_words:
        raise ValueError("need max_words > 0 and 0 <= overlap_words < max_words")
    spans = [m.span() for m in _WORD_SPAN_RE.finditer(text)]
    if not spans:
        return []
    if len(spans) <= max_words:
        return [text[spans[0][0] : spans[-1][1]]]
    step = max_words - overlap_words
    windows = []
    for start in range(0, len(spans), step):
        window = spans[start : start + max_words]
        windows.append(text[window[0][0] : window[-1][1]])
        if start + max_words >= len(spans):
            break
    return windows


def chunk_sections(
    sections: list[Section],
    *,
    title: str,
    max_words: int = DEFAULT_MAX_WORDS,
    overlap_words: int = DEFAULT_OVERLAP_WORDS,
) -> list[ChunkDraft]:
    """Chunks of every section in order, numbered from 0."""
    chunks: list[ChunkDraft] = []
    for section in sections:
        label = section_label(section, title=title)
        for piece in split_words(section.text, max_words=max_words, overlap_words=overlap_words):
            chunks.append(
                ChunkDraft(ordinal=len(chunks), section=label, text=piece, page=section.page)
            )
    return chunks
