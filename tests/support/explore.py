"""A FILEPROC_HOME filled for exploring: corpus files (one of each kind, a bad one too) when
the development corpus is there, else the project's generated samples, processed for real
with ``fileproc_dagster.process``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

# Each with words the others lack: a scan (OCR), a digital PDF, a text file, a Word file,
# a photo, speech, and an empty file that is quarantined.
CORPUS_FILES = ("letter_8781.png", "returns_policy.pdf", "garden_committee_notes.txt",
                "council_minutes.docx", "IMG_20180619_135726.jpg", "recording_4960.wav",
                "upload.pdf")
ISOLATED = ("DAGSTER_HOME", "FILEPROC_DB_URL", "FILEPROC_UPLOAD_DIR", "FILEPROC_STORE_DIR",
            "FILEPROC_QUARANTINE_DIR", "FILEPROC_OUTBOX", "FILEPROC_NOTIFY_URLS",
            "FILEPROC_STORE", "FILEPROC_S3_ENDPOINT_URL")


@dataclass(frozen=True)
class Explored:
    """The home, the files processed into it and what ``process`` returned for them."""

    home: Path
    paths: list[Path]
    processed: pd.DataFrame
    source: str  # "corpus" or "samples"


def fill(home: Path, paths: list[Path], source: str) -> Explored:
    """Process ``paths`` into a new FILEPROC_HOME (its own Dagster instance beside it)."""
    import fileproc_dagster as fp

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FILEPROC_HOME", str(home))
        for var in ISOLATED:
            patch.delenv(var, raising=False)
        # Recorded, so the DAGSTER_HOME that process() sets for the home goes away after.
        patch.setenv("DAGSTER_HOME", "")
        processed = fp.process(paths, progress=False)
    return Explored(home, paths, processed, source)


def choose(corpus: Path | None, samples: dict[str, Path]) -> tuple[list[Path], str]:
    if corpus is not None:
        return [corpus / name for name in CORPUS_FILES], "corpus"
    return sorted(samples.values()), "samples"
