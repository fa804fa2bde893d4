"""The knowledge base: documents, chunks, an index (Pinecone or local) and retrieval.

Not part of this release: the package exists so the layer has its place in the
import order (graphs/tools -> knowledge -> storage).
"""
