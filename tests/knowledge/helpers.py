"""Builders shared by the knowledge tests."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from knowledge.text import terms

DIMENSION = 64


class HashingEmbedder:
    """A deterministic embedder: each index term is hashed into one of 64 dimensions.

    Texts sharing terms get a high cosine similarity; no model, no network.
    """

    def __init__(self) -> None:
        self.document_calls = 0
        self.query_calls = 0

    @staticmethod
    def embed(text: str) -> list[float]:
        vector = [0.0] * DIMENSION
        for term in terms(text):
            digest = hashlib.sha256(term.encode()).digest()
            vector[digest[0] % DIMENSION] += 1.0 if digest[1] % 2 else -1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        self.document_calls += 1
        return [self.embed(t) for t in texts]

    async def aembed_query(self, text: str) -> list[float]:
        self.query_calls += 1
        return self.embed(text)


def write_pdf(path: Path, pages: list[str], *, title: str | None = None) -> Path:
    """A real PDF with one line of (extractable, TrueType) text per page, via matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with (
        matplotlib.rc_context({"pdf.fonttype": 42}),
        PdfPages(path, metadata={"Title": title} if title else None) as pdf,
    ):
        for text in pages:
            fig = plt.figure(figsize=(8.5, 11))
            fig.text(0.05, 0.9, text, fontsize=9)
            pdf.savefig(fig)
            plt.close(fig)
    return path
