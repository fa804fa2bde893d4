"""The Pinecone backend: dense vectors in a serverless index, one namespace per site.

Chunks are embedded (OpenAI embeddings in production) and upserted with their text
and citation in the metadata; the document registry with content hashes and chunk
counts stays in the application's database, so an unchanged file is skipped without
a request and a shorter new version deletes exactly the ids the old one had left over.
Vector ids are ``<document key>-<ordinal>``, so a re-ingest overwrites in place.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge import registry
from knowledge.chunking import ChunkDraft
from knowledge.documents import Document
from knowledge.errors import IndexBackendError
from knowledge.index import DocumentInfo, Hit
from knowledge.local import indexed_text

UPSERT_BATCH = 100


class Embedder(Protocol):
    """What the backend needs from an embedding model (LangChain's ``Embeddings`` fits)."""

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]: ...

    async def aembed_query(self, text: str) -> list[float]: ...


class VectorIndex(Protocol):
    """The part of ``pinecone.AsyncIndex`` this backend uses."""

    async def upsert(self, *, vectors: Sequence[Mapping[str, Any]], namespace: str = "") -> Any: ...

    async def query(
        self,
        *,
        top_k: int,
        vector: Sequence[float] | None = None,
        namespace: str = "",
        include_metadata: bool = False,
    ) -> Any: ...

    async def delete(self, *, ids: Sequence[str] | None = None, namespace: str = "") -> None: ...


def document_key(namespace: str, source: str) -> str:
    """A stable ASCII id prefix for a document in a namespace."""
    return hashlib.sha256(f"{namespace}\x00{source}".encode()).hexdigest()[:24]


def vector_id(namespace: str, source: str, ordinal: int) -> str:
    return f"{document_key(namespace, source)}-{ordinal}"


class PineconeIndex:
    """Chunks as vectors in Pinecone; the document registry in the database."""

    backend = "pinecone"

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        index: VectorIndex,
        embedder: Embedder,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._index = index
        self._embedder = embedder

    async def document_hash(self, *, namespace: str, source: str) -> str | None:
        return await registry.document_hash(
            self._sessionmaker,
            backend=self.backend,
            namespace=namespace,
            source=source,
            what="the knowledge registry",
        )

    async def replace_document(
        self, *, namespace: str, document: Document, chunks: Sequence[ChunkDraft], now: datetime
    ) -> bool:
        """Embed, upsert (overwriting the same ids), delete left-over ids, then record.

        The registry is written last: if anything before fails, the old hash stays and
        the next ingest tries again.
        """
        async with self._sessionmaker() as session:
            existing = await registry.get_document(
                session, backend=self.backend, namespace=namespace, source=document.source
            )
            old_count = existing.chunk_count if existing is not None else 0
        texts = [indexed_text(document, chunk) for chunk in chunks]
        vectors = await self._embed(texts, document.source)
        records = [
            {
                "id": vector_id(namespace, document.source, chunk.ordinal),
                "values": values,
                "metadata": _metadata(document, chunk),
            }
            for chunk, values in zip(chunks, vectors, strict=True)
        ]
        stale = [
            vector_id(namespace, document.source, ordinal)
            for ordinal in range(len(chunks), old_count)
        ]
        try:
            for start in range(0, len(records), UPSERT_BATCH):
                await self._index.upsert(
                    vectors=records[start : start + UPSERT_BATCH], namespace=namespace
                )
            for start in range(0, len(stale), 1000):
                await self._index.delete(ids=stale[start : start + 1000], namespace=namespace)
        except Exception as err:  # the SDK's errors and transport errors alike
            raise IndexBackendError(
                f"{document.source}: Pinecone did not accept the chunks: {err}"
            ) from err
        try:
            async with self._sessionmaker() as session, session.begin():
                current = await registry.get_document(
                    session, backend=self.backend, namespace=namespace, source=document.source
                )
                await registry.save_document(
                    session,
                    backend=self.backend,
                    namespace=namespace,
                    document=document,
                    chunk_count=len(chunks),
                    now=now,
                    existing=current,
                )
        except SQLAlchemyError as err:
            raise IndexBackendError(
                f"{document.source}: the knowledge registry could not be written: {err}"
            ) from err
        return existing is not None

    async def remove_document(self, *, namespace: str, source: str) -> int | None:
        """Delete the document's vectors, then its registry row (so a failure in between
        leaves it listed and a second attempt finishes the job)."""
        async with self._sessionmaker() as session:
            existing = await registry.get_document(
                session, backend=self.backend, namespace=namespace, source=source
            )
        if existing is None:
            return None
        ids = [vector_id(namespace, source, n) for n in range(existing.chunk_count)]
        try:
            for start in range(0, len(ids), 1000):
                await self._index.delete(ids=ids[start : start + 1000], namespace=namespace)
        except Exception as err:  # the SDK's errors and transport errors alike
            raise IndexBackendError(f"{source}: Pinecone did not delete the chunks: {err}") from err
        try:
            async with self._sessionmaker() as session, session.begin():
                current = await registry.get_document(
                    session, backend=self.backend, namespace=namespace, source=source
                )
                if current is not None:
                    await session.delete(current)
        except SQLAlchemyError as err:
            raise IndexBackendError(
                f"{source}: the knowledge registry could not be written: {err}"
            ) from err
        return existing.chunk_count

    async def _embed(self, texts: list[str], what: str) -> list[list[float]]:
        try:
            vectors = await self._embedder.aembed_documents(texts)
        except Exception as err:  # the embedding service's errors, translated once
            raise IndexBackendError(f"{what}: the embedding service failed: {err}") from err
        if len(vectors) != len(texts):
            raise IndexBackendError(f"{what}: the embedding service returned the wrong count")
        return vectors

    async def search(self, *, query: str, namespaces: Sequence[str], top_k: int) -> list[Hit]:
        if not query.strip() or not namespaces or top_k <= 0:
            return []
        try:
            vector = await self._embedder.aembed_query(query)
        except Exception as err:
            raise IndexBackendError(f"the embedding service failed: {err}") from err
        try:
            responses = await asyncio.gather(
                *(
                    self._index.query(
                        top_k=top_k, vector=vector, namespace=namespace, include_metadata=True
                    )
                    for namespace in namespaces
                )
            )
        except Exception as err:
            raise IndexBackendError(f"Pinecone could not be searched: {err}") from err
        hits = [
            _hit(namespace, match)
            for namespace, response in zip(namespaces, responses, strict=True)
            for match in response.matches
        ]
        hits.sort(key=lambda h: -h.score)
        return hits[:top_k]

    async def list_documents(
        self, *, namespaces: Sequence[str] | None = None
    ) -> list[DocumentInfo]:
        try:
            async with self._sessionmaker() as session:
                return await registry.list_documents(
                    session, backend=self.backend, namespaces=namespaces
                )
        except SQLAlchemyError as err:
            raise IndexBackendError(f"the knowledge registry could not be read: {err}") from err


def _metadata(document: Document, chunk: ChunkDraft) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "source": document.source,
        "title": document.title,
        "section": chunk.section,
        "ordinal": chunk.ordinal,
        "text": chunk.text,
    }
    if chunk.page is not None:
        meta["page"] = chunk.page
    return meta


def _hit(namespace: str, match: Any) -> Hit:
    meta = dict(match.metadata or {})
    page = meta.get("page")
    return Hit(
        namespace=namespace,
        source=str(meta.get("source", match.id)),
        title=str(meta.get("title", "")),
        section=str(meta.get("section", "")),
        text=str(meta.get("text", "")),
        score=float(match.score),
        page=int(page) if page is not None else None,
    )
