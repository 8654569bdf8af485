"""The passages' vectors in memory, scanned whole with NumPy: nearest passages to a vector.

Each process keeps one copy of a database's vectors (a matrix of unit rows, with their ids,
keys and ordinals) and brings it up to date before each scan: passage ids only grow, so the
rows past the largest id it holds are read and appended, and a count that does not add up
(passages replaced or removed) reads it all again. A scan of 100,000 passages is one
matrix-vector product (see benchmarks/search.py for its time). Ties are broken by key and
ordinal, so SQLite and PostgreSQL give the same order.

Example::

    nearest(engine, conn, embed(["late payment"])[0], pool=50)  # [(key, ordinal, cosine)]
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.engine import Connection, Engine

from fileproc_dagster.meaning.embedder import DIMENSIONS
from fileproc_dagster.storage.schema import passages

_SCAN_MARGIN = 4  # passages looked at per record wanted (more when they are too few)


class Vectors:
    """One database's vectors as last read: ids, keys, ordinals and the matrix."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self.ids = np.zeros(0, np.int64)
        self.keys: NDArray[Any] = np.zeros(0, object)
        self.ordinals = np.zeros(0, np.int64)
        self.matrix = np.zeros((0, DIMENSIONS), np.float32)

    def refresh(self, conn: Connection) -> None:
        # Two statements: each alone is answered from an index (together, SQLite scans).
        count = conn.execute(sa.select(sa.func.count()).select_from(passages)).scalar_one()
        largest = conn.execute(sa.select(sa.func.max(passages.c.id))).scalar_one()
        held = len(self.ids)
        top = int(self.ids[-1]) if held else 0
        if count == held and (largest or 0) == top:
            return
        newer = self._read(conn, passages.c.id > top)
        if held + len(newer[0]) == count:
            self._append(*newer)
        else:  # passages replaced or removed since: read them all again
            self._clear()
            self._append(*self._read(conn, sa.true()))

    @staticmethod
    def _read(conn: Connection, where: Any) -> tuple[NDArray[Any], ...]:
        rows = conn.execute(sa.select(passages.c.id, passages.c.key, passages.c.ordinal,
                                      passages.c.vector).where(where)
                            .order_by(passages.c.id)).all()
        matrix = np.frombuffer(b"".join(r.vector for r in rows), "<f4").astype(np.float32)
        return (np.array([r.id for r in rows], np.int64), np.array([r.key for r in rows], object),
                np.array([r.ordinal for r in rows], np.int64),
                matrix.reshape(len(rows), DIMENSIONS))

    def _append(self, ids: NDArray[Any], keys: NDArray[Any], ordinals: NDArray[Any],
                matrix: NDArray[Any]) -> None:
        self.ids = np.concatenate([self.ids, ids])
        self.keys = np.concatenate([self.keys, keys])
        self.ordinals = np.concatenate([self.ordinals, ordinals])
        self.matrix = np.concatenate([self.matrix, matrix]) if len(self.matrix) else matrix

    def nearest(self, vector: NDArray[Any], pool: int, exclude: str | None = None
                ) -> list[tuple[str, int, float]]:
        """The best passage of each of the ``pool`` records nearest to ``vector``:
        (key, ordinal, cosine), best first."""
        if not len(self.ids):
            return []
        scores = self.matrix @ np.asarray(vector, np.float32)
        wanted = min(len(scores), pool * _SCAN_MARGIN)
        while True:
            top = np.argpartition(-scores, wanted - 1)[:wanted] if wanted < len(scores) \
                else np.arange(len(scores))
            # Rounded so that the last bits of a BLAS sum never decide an order.
            candidates = sorted((-round(float(scores[i]), 6), str(self.keys[i]),
                                  int(self.ordinals[i])) for i in top)
            best: dict[str, tuple[str, int, float]] = {}
            for score, key, ordinal in candidates:
                if key != exclude and key not in best:
                    best[key] = (key, ordinal, -score)
            if len(best) >= pool or wanted == len(scores):
                return list(best.values())[:pool]
            wanted = min(len(scores), wanted * 4)


_held: weakref.WeakKeyDictionary[Engine, Vectors] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def nearest(engine: Engine, conn: Connection, vector: NDArray[Any], pool: int,
            exclude: str | None = None) -> list[tuple[str, int, float]]:
    """``Vectors.nearest`` on this process's copy of the database's vectors, brought up to
    date first."""
    with _lock:
        held = _held.setdefault(engine, Vectors())
    with held.lock:
        held.refresh(conn)
        return held.nearest(vector, pool, exclude)


def centroid(conn: Connection, key: str) -> NDArray[np.float32] | None:
    """The unit mean of a record's passage vectors (None when it has none)."""
    rows = conn.execute(sa.select(passages.c.vector).where(passages.c.key == key)).scalars()
    found = [np.frombuffer(v, "<f4") for v in rows]
    if not found:
        return None
    mean: NDArray[np.float32] = np.mean(found, axis=0).astype(np.float32)
    return mean / np.float32(max(float(np.linalg.norm(mean)), 1e-12))
