"""The document registry (``kb_documents``): what is indexed, where, and its content hash.

Both backends keep it in the database, so re-ingesting an unchanged file is a lookup.
Keyword-only functions taking the session; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.documents import Document
from knowledge.errors import IndexBackendError
from knowledge.index import DocumentInfo
from storage.models import KnowledgeDocumentRow


async def get_document(
    session: AsyncSession, *, backend: str, namespace: str, source: str
) -> KnowledgeDocumentRow | None:
    result = await session.execute(
        select(KnowledgeDocumentRow).where(
            KnowledgeDocumentRow.backend == backend,
            KnowledgeDocumentRow.namespace == namespace,
            KnowledgeDocumentRow.source == source,
        )
    )
    return result.scalar_one_or_none()


async def save_document(
    session: AsyncSession,
    *,
    backend: str,
    namespace: str,
    document: Document,
    chunk_count: int,
    now: datetime,
    existing: KnowledgeDocumentRow | None,
) -> KnowledgeDocumentRow:
    """Insert the registry row, or update ``existing`` to the new version."""
    row = existing or KnowledgeDocumentRow(
        backend=backend, namespace=namespace, source=document.source, created_at=now
    )
    row.title = document.title[:300]
    row.kind = document.kind
    row.content_hash = document.content_hash
    row.chunk_count = chunk_count
    row.updated_at = now
    if existing is None:
        session.add(row)
    await session.flush()
    return row


async def list_documents(
    session: AsyncSession, *, backend: str, namespaces: Sequence[str] | None
) -> list[DocumentInfo]:
    query = select(KnowledgeDocumentRow).where(KnowledgeDocumentRow.backend == backend)
    if namespaces is not None:
        query = query.where(KnowledgeDocumentRow.namespace.in_(list(namespaces)))
    query = query.order_by(KnowledgeDocumentRow.namespace, KnowledgeDocumentRow.source)
    rows = (await session.execute(query)).scalars().all()
    return [
        DocumentInfo(
            namespace=r.namespace,
            source=r.source,
            title=r.title,
            kind=r.kind,
            content_hash=r.content_hash,
            chunk_count=r.chunk_count,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


async def document_hash(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    backend: str,
    namespace: str,
    source: str,
    what: str,
) -> str | None:
    """The content hash recorded for ``source`` in ``namespace`` (None: not indexed);
    a database failure becomes an :class:`IndexBackendError` naming ``what``."""
    try:
        async with sessionmaker() as session:
            row = await get_document(session, backend=backend, namespace=namespace, source=source)
    except SQLAlchemyError as err:
        raise IndexBackendError(f"{what} could not be read: {err}") from err
    return row.content_hash if row is not None else None
