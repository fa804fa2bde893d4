"""The local index: chunks and an inverted index in the database, ranked with BM25.

Works offline on SQLite and PostgreSQL. Each chunk stores its text and its length in
index terms; ``kb_postings`` holds each term's frequency per chunk, so a term's document
frequency in a namespace is a count over one index. A search over several namespaces
(a site and the shared one) ranks them as one collection: N, the average length and
the document frequencies are summed over the namespaces searched.

BM25 (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond"):

    score(D, Q) = sum over terms t of Q of
        idf(t) * tf(t, D) * (k1 + 1) / (tf(t, D) + k1 * (1 - b + b * |D| / avgdl))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge import registry
from knowledge.chunking import ChunkDraft
from knowledge.documents import Document
from knowledge.errors import IndexBackendError
from knowledge.index import DocumentInfo, Hit
from knowledge.text import term_counts, terms
from storage.models import KnowledgeChunkRow, KnowledgeDocumentRow, KnowledgePostingRow

K1 = 1.2
B = 0.75


@dataclass(frozen=True, slots=True)
class ChunkStats:
    """One candidate chunk: its length and the frequencies of the query terms in it."""

    length: int
    tf: Mapping[str, int]


def bm25_scores(
    *,
    query_terms: Sequence[str],
    chunks: Mapping[int, ChunkStats],
    doc_freq: Mapping[str, int],
    total_chunks: int,
    avg_length: float,
    k1: float = K1,
    b: float = B,
) -> dict[int, float]:
    """BM25 score of every candidate chunk (pure)."""
    scores: dict[int, float] = {}
    avg = avg_length if avg_length > 0 else 1.0
    for chunk_id, stats in chunks.items():
        score = 0.0
        norm = k1 * (1 - b + b * stats.length / avg)
        for term in dict.fromkeys(query_terms):
            tf = stats.tf.get(term, 0)
            if not tf:
                continue
            df = doc_freq.get(term, 0)
            idf = math.log(1 + (total_chunks - df + 0.5) / (df + 0.5))
            score += idf * tf * (k1 + 1) / (tf + norm)
        if score > 0:
            scores[chunk_id] = score
    return scores


def indexed_text(document: Document, chunk: ChunkDraft) -> str:
    """What a chunk is found by: its document's title, its section (twice: a match in a
    heading says more than one in passing) and its text."""
    return f"{document.title}\n{chunk.section}\n{chunk.section}\n{chunk.text}"


class LocalIndex:
    """Chunks, postings and BM25 ranking in the application's own database."""

    backend = "local"

    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def document_hash(self, *, namespace: str, source: str) -> str | None:
        return await registry.document_hash(
            self._sessionmaker,
            backend=self.backend,
            namespace=namespace,
            source=source,
            what="the knowledge index",
        )

    async def replace_document(
        self, *, namespace: str, document: Document, chunks: Sequence[ChunkDraft], now: datetime
    ) -> bool:
        """One transaction: the old version's chunks go and the new ones come, or neither."""
        try:
            async with self._sessionmaker() as session, session.begin():
                existing = await registry.get_document(
                    session, backend=self.backend, namespace=namespace, source=document.source
                )
                if existing is not None:
                    await _delete_chunks(session, document_id=existing.id)
                row = await registry.save_document(
                    session,
                    backend=self.backend,
                    namespace=namespace,
                    document=document,
                    chunk_count=len(chunks),
                    now=now,
                    existing=existing,
                )
                await self._insert_chunks(session, row=row, document=document, chunks=chunks)
        except SQLAlchemyError as err:
            raise IndexBackendError(
                f"{document.source}: the knowledge index could not be written: {err}"
            ) from err
        return existing is not None

    async def remove_document(self, *, namespace: str, source: str) -> int | None:
        """One transaction: the document's postings, chunks and registry row go."""
        try:
            async with self._sessionmaker() as session, session.begin():
                existing = await registry.get_document(
                    session, backend=self.backend, namespace=namespace, source=source
                )
                if existing is None:
                    return None
                count = existing.chunk_count
                await _delete_chunks(session, document_id=existing.id)
                await session.delete(existing)
        except SQLAlchemyError as err:
            raise IndexBackendError(
                f"{source}: the knowledge index could not be written: {err}"
            ) from err
        return count

    async def _insert_chunks(
        self,
        session: AsyncSession,
        *,
        row: KnowledgeDocumentRow,
        document: Document,
        chunks: Sequence[ChunkDraft],
    ) -> None:
        counts = [term_counts(indexed_text(document, chunk)) for chunk in chunks]
        chunk_rows = [
            KnowledgeChunkRow(
                document_id=row.id,
                namespace=row.namespace,
                ordinal=chunk.ordinal,
                section=chunk.section,
                page=chunk.page,
                text=chunk.text,
                token_count=sum(count.values()),
            )
            for chunk, count in zip(chunks, counts, strict=True)
        ]
        session.add_all(chunk_rows)
        await session.flush()
        postings = [
            {"chunk_id": chunk_row.id, "term": term, "namespace": row.namespace, "tf": tf}
            for chunk_row, count in zip(chunk_rows, counts, strict=True)
            for term, tf in count.items()
        ]
        if postings:
            await session.execute(insert(KnowledgePostingRow), postings)

    async def search(self, *, query: str, namespaces: Sequence[str], top_k: int) -> list[Hit]:
        query_terms = list(dict.fromkeys(terms(query)))
        if not query_terms or not namespaces or top_k <= 0:
            return []
        spaces = list(namespaces)
        try:
            async with self._sessionmaker() as session:
                return await self._search(session, query_terms, spaces, top_k)
        except SQLAlchemyError as err:
            raise IndexBackendError(f"the knowledge index could not be searched: {err}") from err

    async def _search(
        self, session: AsyncSession, query_terms: list[str], spaces: list[str], top_k: int
    ) -> list[Hit]:
        total, avg_length = (
            await session.execute(
                select(
                    func.count(KnowledgeChunkRow.id), func.avg(KnowledgeChunkRow.token_count)
                ).where(KnowledgeChunkRow.namespace.in_(spaces))
            )
        ).one()
        if not total:
            return []
        in_query = (
            KnowledgePostingRow.namespace.in_(spaces),
            KnowledgePostingRow.term.in_(query_terms),
        )
        doc_freq = {
            term: count
            for term, count in (
                await session.execute(
                    select(KnowledgePostingRow.term, func.count())
                    .where(*in_query)
                    .group_by(KnowledgePostingRow.term)
                )
            ).all()
        }
        tf_by_chunk: dict[int, dict[str, int]] = {}
        for chunk_id, term, tf in (
            await session.execute(
                select(
                    KnowledgePostingRow.chunk_id, KnowledgePostingRow.term, KnowledgePostingRow.tf
                ).where(*in_query)
            )
        ).all():
            tf_by_chunk.setdefault(chunk_id, {})[term] = tf
        if not tf_by_chunk:
            return []
        lengths = dict(
            (
                await session.execute(
                    select(KnowledgeChunkRow.id, KnowledgeChunkRow.token_count).where(
                        KnowledgeChunkRow.id.in_(list(tf_by_chunk))
                    )
                )
            ).all()
        )
        scores = bm25_scores(
            query_terms=query_terms,
            chunks={cid: ChunkStats(length=lengths[cid], tf=tf) for cid, tf in tf_by_chunk.items()},
            doc_freq=doc_freq,
            total_chunks=int(total),
            avg_length=float(avg_length or 0.0),
        )
        best = sorted(scores, key=lambda cid: (-scores[cid], cid))[:top_k]
        if not best:
            return []
        rows = (
            await session.execute(
                select(KnowledgeChunkRow, KnowledgeDocumentRow)
                .join(
                    KnowledgeDocumentRow, KnowledgeChunkRow.document_id == KnowledgeDocumentRow.id
                )
                .where(KnowledgeChunkRow.id.in_(best))
            )
        ).all()
        by_id = {chunk.id: (chunk, doc) for chunk, doc in rows}
        return [
            Hit(
                namespace=by_id[cid][0].namespace,
                source=by_id[cid][1].source,
                title=by_id[cid][1].title,
                section=by_id[cid][0].section,
                text=by_id[cid][0].text,
                score=scores[cid],
                page=by_id[cid][0].page,
            )
            for cid in best
            if cid in by_id
        ]

    async def list_documents(
        self, *, namespaces: Sequence[str] | None = None
    ) -> list[DocumentInfo]:
        try:
            async with self._sessionmaker() as session:
                return await registry.list_documents(
                    session, backend=self.backend, namespaces=namespaces
                )
        except SQLAlchemyError as err:
            raise IndexBackendError(f"the knowledge index could not be read: {err}") from err


async def _delete_chunks(session: AsyncSession, *, document_id: int) -> None:
    """Postings first, then chunks (SQLite does not enforce the cascade by default)."""
    chunk_ids = select(KnowledgeChunkRow.id).where(KnowledgeChunkRow.document_id == document_id)
    await session.execute(
        delete(KnowledgePostingRow).where(KnowledgePostingRow.chunk_id.in_(chunk_ids))
    )
    await session.execute(
        delete(KnowledgeChunkRow).where(KnowledgeChunkRow.document_id == document_id)
    )
