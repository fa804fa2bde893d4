"""Chunking, index terms and reading Markdown, text and PDF files."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from knowledge.chunking import (
    Section,
    chunk_sections,
    markdown_sections,
    markdown_title,
    split_words,
)
from knowledge.documents import read_document
from knowledge.errors import UnreadableDocumentError, UnsupportedDocumentError
from knowledge.text import terms
from tests.knowledge.helpers import write_pdf

MARKDOWN = """Intro before any heading.

# Generator guide

Overview of the guide.

## Fuel

### Storage

Keep the tank full in winter.

```sh
# not a heading: a comment in a code block
drain-water --now
```

### Refuelling

Stop the engine first.

## Service

Change the oil every 250 h.
"""


def test_markdown_sections_keep_the_heading_path() -> None:
    sections = markdown_sections(MARKDOWN)
    assert [s.path for s in sections] == [
        (),
        ("Generator guide",),
        ("Generator guide", "Fuel", "Storage"),
        ("Generator guide", "Fuel", "Refuelling"),
        ("Generator guide", "Service"),
    ]
    storage = sections[2].text
    assert "# not a heading" in storage and "drain-water --now" in storage
    assert markdown_title(MARKDOWN) == "Generator guide"


def test_chunks_are_cited_by_section_without_the_document_title() -> None:
    chunks = chunk_sections(markdown_sections(MARKDOWN), title="Generator guide")
    assert [(c.ordinal, c.section) for c in chunks] == [
        (0, ""),
        (1, ""),
        (2, "Fuel > Storage"),
        (3, "Fuel > Refuelling"),
        (4, "Service"),
    ]
    assert chunks[4].text == "Change the oil every 250 h."


def test_long_sections_split_with_overlap() -> None:
    words = [f"w{i}" for i in range(25)]
    text = " ".join(words[:12]) + "\n\n" + " ".join(words[12:])
    windows = split_words(text, max_words=10, overlap_words=3)
    assert [w.split() for w in windows] == [words[0:10], words[7:17], words[14:24], words[21:25]]
    assert "\n\n" in windows[1], "the original line breaks survive"
    for earlier, later in pairwise(windows):
        assert earlier.split()[-3:] == later.split()[:3]
    chunks = chunk_sections(
        [Section(path=("A", "B"), text=text)], title="A", max_words=10, overlap_words=3
    )
    assert [c.section for c in chunks] == ["B"] * 4
    with pytest.raises(ValueError):
        split_words(text, max_words=5, overlap_words=5)


def test_terms_drop_stop_words_and_meet_plurals() -> None:
    assert terms("The miners are charging") == ["miner", "charg"]
    assert terms("Charge the miner") == ["charg", "miner"]
    assert terms("alerts ALERT batteries battery") == ["alert", "alert", "battery", "battery"]


def test_plain_text_file(tmp_path: Path) -> None:
    path = tmp_path / "gate-notes.txt"
    path.write_text("The barn gate opener runs on a 12 V battery.\n\nCheck it monthly.\n")
    doc = read_document(path)
    assert (doc.kind, doc.title, doc.source) == ("text", "gate-notes", "gate-notes.txt")
    [chunk] = doc.chunks()
    assert chunk.section == "" and chunk.text.endswith("Check it monthly.")
    assert len(doc.content_hash) == 64


def test_pdf_pages_become_sections(tmp_path: Path) -> None:
    pdf = write_pdf(
        tmp_path / "inverter-manual.pdf",
        ["Wiring: fit a 200 A fuse on each battery cable.", "", "Equalization voltage 57.6 V."],
        title="Inverter manual",
    )
    doc = read_document(pdf)
    assert (doc.kind, doc.title) == ("pdf", "Inverter manual")
    chunks = doc.chunks()
    assert [(c.section, c.page) for c in chunks] == [("page 1", 1), ("page 3", 3)]
    assert "200 A fuse" in chunks[0].text
    assert "57.6" in chunks[1].text


def test_unsupported_and_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    photo = tmp_path / "panel.jpg"
    photo.write_bytes(b"\xff\xd8\xff")
    with pytest.raises(UnsupportedDocumentError, match=r"unsupported file type '\.jpg'"):
        read_document(photo)
    latin = tmp_path / "old.txt"
    latin.write_bytes("Batterie défectueuse".encode("latin-1"))
    with pytest.raises(UnreadableDocumentError, match="not UTF-8"):
        read_document(latin)
    fake_pdf = tmp_path / "broken.pdf"
    fake_pdf.write_bytes(b"this is not a pdf")
    with pytest.raises(UnreadableDocumentError, match="not a readable PDF"):
        read_document(fake_pdf)
    blank = write_pdf(tmp_path / "scan.pdf", [""])
    with pytest.raises(UnreadableDocumentError, match="no extractable text"):
        read_document(blank)
    empty = tmp_path / "empty.md"
    empty.write_text("# Only a title\n")
    with pytest.raises(UnreadableDocumentError, match="no text to index"):
        read_document(empty)
    with pytest.raises(UnreadableDocumentError, match="cannot read"):
        read_document(tmp_path / "missing.md")
