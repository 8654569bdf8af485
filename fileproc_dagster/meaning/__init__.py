"""Search by meaning: records cut into passages with their places, and sentence vectors."""

from __future__ import annotations


def preload_embedder() -> None:
    """Start loading the sentence-embedding model in the background (``embedder.preload``),
    without importing NumPy or onnxruntime here: the code location imports this package."""
    from fileproc_dagster.meaning.embedder import preload

    preload()
