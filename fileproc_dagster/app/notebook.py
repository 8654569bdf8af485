"""Helpers for exploring results in a notebook: DataFrames and one-off extraction."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe import describe
from fileproc_dagster.describe.model import Description, ExtractOptions
from fileproc_dagster.storage.records import Records
from fileproc_dagster.settings import Settings

COLUMNS = ["uuid", "key", "name", "type", "size", "sha256", "location", "state",
           "description", "text", "details", "error"]


def records_frame(settings: Settings | None = None) -> pd.DataFrame:
    """All records as a DataFrame, newest first.

    Example::

        df = records_frame()
        df.groupby(["type", "state"]).size()
    """
    settings = settings or Settings.from_env()
    rows = [r.as_json() for r in Records(settings.db_url).files.all()]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["words"] = frame["text"].fillna("").str.split().str.len()
    return frame


def describe_path(path: Path, options: ExtractOptions | None = None) -> Description:
    """Detect and describe one file directly, without Dagster or any records.

    Example::

        describe_path(Path("letter.png")).text[:200]
    """
    options = options or ExtractOptions()
    return describe(Path(path), detect(Path(path), options), options)
