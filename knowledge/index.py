"""The index interface every backend implements, and what a search returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from knowledge.chunking import ChunkDraft
from knowledge.documents import Document


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved passage with what is needed to cite it."""

    namespace: str
    source: str
    title: str
    section: str
    text: str
    score: float
    page: int | None = None

    @property
    def citation(self) -> str:
        """``(document § section)``, or ``(document)`` for a passage without a section."""
        return f"({self.source} § {self.section})" if self.section else f"({self.source})"


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    namespace: str
    source: str
    title: str
    kind: str
    content_hash: str
    chunk_count: int
    updated_at: datetime


class KnowledgeIndex(Protocol):
    """Where chunks are stored and searched: the local database index or Pinecone."""

    @property
    def backend(self) -> str:
        """``local`` or ``pinecone``."""
        ...

    async def document_hash(self, *, namespace: str, source: str) -> str | None:
        """The content hash of the indexed version of ``source``, or None."""
        ...

    async def replace_document(
        self, *, namespace: str, document: Document, chunks: Sequence[ChunkDraft], now: datetime
    ) -> bool:
        """Index ``document``'s chunks in place of any earlier version; True if it replaced."""
        ...

    async def remove_document(self, *, namespace: str, source: str) -> int | None:
        """Drop ``source`` and its chunks; the number of chunks removed, None if unknown."""
        ...

    async def search(self, *, query: str, namespaces: Sequence[str], top_k: int) -> list[Hit]:
        """The best passages for ``query`` over ``namespaces`` together, best first."""
        ...

    async def list_documents(
        self, *, namespaces: Sequence[str] | None = None
    ) -> list[DocumentInfo]:
        """Indexed documents, by namespace and source."""
        ...
