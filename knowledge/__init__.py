"""The knowledge base: documents -> chunks -> index (local BM25 or Pinecone) -> retrieval.

- :mod:`knowledge.chunking` and :mod:`knowledge.text`: pure functions (sections with
  their heading path or page, overlapping chunks, index terms).
- :mod:`knowledge.documents`: reading Markdown, plain text and PDF files.
- :mod:`knowledge.index`: the :class:`~knowledge.index.KnowledgeIndex` protocol;
  :mod:`knowledge.local` (BM25 in the database) and :mod:`knowledge.pinecone_index`.
- :mod:`knowledge.service`: ingest (content-hashed, unchanged files skipped) and
  search over a site's namespace plus the shared one; the runbooks the product
  ships live in ``knowledge/runbooks/``.
"""

from knowledge.errors import KnowledgeError
from knowledge.index import DocumentInfo, Hit, KnowledgeIndex
from knowledge.service import SHARED_NAMESPACE, KnowledgeBase, format_hits

__all__ = [
    "SHARED_NAMESPACE",
    "DocumentInfo",
    "Hit",
    "KnowledgeBase",
    "KnowledgeError",
    "KnowledgeIndex",
    "format_hits",
]
