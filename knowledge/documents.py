"""Reading files into documents: Markdown, plain text and PDF (the only I/O here)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from knowledge.chunking import (
    ChunkDraft,
    Section,
    chunk_sections,
    markdown_sections,
    markdown_title,
    text_sections,
)
from knowledge.errors import UnreadableDocumentError, UnsupportedDocumentError

DocumentKind = Literal["markdown", "text", "pdf"]
KINDS: dict[str, DocumentKind] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".pdf": "pdf",
}


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed file: where it came from, what it is called, and its sections."""

    source: str  # the name it is cited and re-ingested by, e.g. "runbooks/battery.md"
    title: str
    kind: DocumentKind
    content_hash: str  # sha256 of the file's bytes
    sections: tuple[Section, ...]

    def chunks(self) -> list[ChunkDraft]:
        return chunk_sections(list(self.sections), title=self.title)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document_kind(path: Path) -> DocumentKind:
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise UnsupportedDocumentError(
            f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
            "the knowledge base reads Markdown (.md), plain text (.txt) and PDF (.pdf)"
        )
    return kind


def read_document(path: Path, *, source: str | None = None) -> Document:
    """Read and parse one file; a clear error when it cannot be."""
    kind = document_kind(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UnreadableDocumentError(f"{path}: cannot read the file ({err.strerror})") from err
    return parse_document(data, kind=kind, source=source or path.name, stem=path.stem)


def parse_document(data: bytes, *, kind: DocumentKind, source: str, stem: str) -> Document:
    """Parse a file's bytes."""
    if kind == "pdf":
        sections, title = _pdf_sections(data, source)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise UnreadableDocumentError(
                f"{source}: not UTF-8 text (byte {err.start}); save it as UTF-8 and try again"
            ) from err
        if kind == "markdown":
            sections, title = markdown_sections(text), markdown_title(text)
        else:
            sections, title = text_sections(text), None
    if not any(s.text.strip() for s in sections):
        raise UnreadableDocumentError(f"{source}: the file has no text to index")
    return Document(
        source=source,
        title=title or stem,
        kind=kind,
        content_hash=content_hash(data),
        sections=tuple(sections),
    )


def _pdf_sections(data: bytes, source: str) -> tuple[list[Section], str | None]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableDocumentError(f"{source}: the PDF is encrypted; save a copy without")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = meta.title if meta is not None and meta.title else None
    except (PdfReadError, ValueError, KeyError, TypeError) as err:
        raise UnreadableDocumentError(f"{source}: not a readable PDF ({err})") from err
    sections = [
        Section(path=(), text=text.strip(), page=number)
        for number, text in enumerate(pages, start=1)
        if text.strip()
    ]
    if not sections:
        raise UnreadableDocumentError(
            f"{source}: the PDF has no extractable text (a scan needs OCR first)"
        )
    return sections, title
