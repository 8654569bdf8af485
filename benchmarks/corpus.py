"""The development corpus as benchmark input: the mix of real files and unique batches of it."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from benchmarks.variants import make_variant

GROUPS = ("document", "image", "audio")
# A one-page clean 300 dpi scan: the "single small file" of the latency benchmark.
SMALL_SCAN = "letter_8781.png"
# Two minutes of speech: the audio that keeps the whisper model busiest (memory benchmark).
LONG_AUDIO = "lecture_3740.mp3"


@dataclass(frozen=True)
class CorpusFile:
    """One corpus file the pipeline should process to done."""

    path: Path
    group: str


def load_mix(corpus: Path) -> list[CorpusFile]:
    """The processable corpus files (documents, images, audio), kinds interleaved.

    Interleaving keeps any prefix of a batch a mix of kinds, so the quick mode's small
    batches are mixed too.
    """
    manifest = json.loads((corpus / "manifest.json").read_text())["files"]
    by_group = {g: [CorpusFile(corpus / f["name"], g) for f in manifest if f["group"] == g]
                for g in GROUPS}
    missing = [f.path for files in by_group.values() for f in files if not f.path.is_file()]
    if missing:
        raise FileNotFoundError(f"corpus files missing: {missing[:3]}")
    interleaved = itertools.zip_longest(*by_group.values())
    return [f for row in interleaved for f in row if f is not None]


def find(corpus: Path, name: str) -> CorpusFile:
    """One named file of the mix."""
    for item in load_mix(corpus):
        if item.path.name == name:
            return item
    raise FileNotFoundError(f"{name} is not a processable file of the corpus at {corpus}")


@dataclass(frozen=True)
class BatchFile:
    """A unique copy of a corpus file, ready to be dropped."""

    path: Path
    source: CorpusFile


def build_batch(stage: Path, sources: list[CorpusFile], count: int, tag: str) -> list[BatchFile]:
    """``count`` files cycling through ``sources``, each a unique variant (tag + index).

    Names keep the source's stem and extension (``letter_8781 t-003.png``), so records and
    partition keys stay readable.
    """
    stage.mkdir(parents=True, exist_ok=True)
    batch = []
    for index, source in zip(range(count), itertools.cycle(sources), strict=False):
        label = f"{tag}-{index:04d}"
        target = stage / f"{source.path.stem} {label}{source.path.suffix}"
        make_variant(source.path, target, label)
        batch.append(BatchFile(target, source))
    return batch
