"""Errors of the knowledge layer, each with a message a person can act on."""

from __future__ import annotations


class KnowledgeError(Exception):
    """Root of the knowledge layer's errors."""


class UnsupportedDocumentError(KnowledgeError):
    """A file type the knowledge base cannot read."""


class UnreadableDocumentError(KnowledgeError):
    """A file that exists but cannot be read or has no text."""


class IndexBackendError(KnowledgeError):
    """The index (database or Pinecone) or the embedding service failed."""
