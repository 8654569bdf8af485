"""The notebook API: records, one record, search and processing, as pandas objects.

Every function reads the installation of the environment (``FILEPROC_HOME``,
``FILEPROC_DB_URL``...) unless it is handed ``settings``. Example::

    import fileproc_dagster as fp
    fp.process(["scan.png", "memo.pdf"])               # run the assets here, a progress bar
    df = fp.records(type="document", state="done")     # one row per record, typed columns
    df.groupby(["type", "state"], observed=False).size()
    fp.search("late payment", limit=5)[["rank", "name", "place", "passage"]]
    fp.record(df.key[0])                               # thumbnail, text, transcript
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from fileproc_dagster.app import frames
from fileproc_dagster.app.views import RecordView
from fileproc_dagster.describe import describe
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import Description, ExtractOptions, FileKind
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State

__all__ = ["RecordView", "describe_path", "process", "record", "records", "records_frame",
           "search", "similar"]

# The columns of a search before those of ``records()``.
SEARCH_COLUMNS = {"rank": "Int64", "place": "string", "passage": "string", "link": "string"}
# Keyword arguments of ``process`` that configure the extraction step of the run.
STEP_CONFIG = ("ocr_language", "whisper_backend", "whisper_model", "image_tags", "timeout_s")


@lru_cache(maxsize=8)
def _records(url: str) -> Records:
    return Records(url)  # one engine per database for the notebook's life


def _store(settings: Settings | None) -> Records:
    return _records((settings or Settings.from_env()).db_url)


def records(type: str | Iterable[str] | None = None, state: str | Iterable[str] | None = None,
            since: datetime | date | timedelta | str | None = None, *,
            settings: Settings | None = None) -> pd.DataFrame:
    """Records as a DataFrame, newest first: one row per record, the columns of
    ``frames.COLUMNS`` (``type`` and ``state`` categorical, times in UTC, sizes ``Int64``).

    ``type`` and ``state`` take one value or several; ``since`` a moment, a date string or a
    ``timedelta`` back from now.

    Example::

        fp.records(type=["image", "audio"], state="done", since=timedelta(days=1))
        fp.records().groupby(["type", "state"], observed=False).size()
    """
    types = frames.choices(type, (k.value for k in FileKind), "type")
    states = frames.choices(state, (s.value for s in State), "state")
    found = _store(settings).files.all(types=types, states=states, since=frames.moment(since))
    return frames.frame(found)


def records_frame(settings: Settings | None = None) -> pd.DataFrame:
    """All records as a DataFrame, newest first (``records()`` without filters)."""
    return records(settings=settings)


def record(key_or_uuid: str, *, settings: Settings | None = None) -> RecordView:
    """One record by partition key or uuid, displayed with its thumbnail, a text excerpt and
    its transcript's segments with times.

    Example::

        view = fp.record("letter_8781-4aad360a2c10")
        view.text[:200], view.segments.head()
    """
    found = _store(settings).files.lookup(key_or_uuid)
    if found is None:
        raise KeyError(f"no record with key or uuid {key_or_uuid!r}")
    return RecordView(found)


def search(query: str, limit: int = 20, *, mode: str = "hybrid",
           settings: Settings | None = None) -> pd.DataFrame:
    """Records best matching ``query``, best first: ``rank`` (1 is best), the ``place`` and
    ``passage`` that matched, a ``link`` to that page or minute, then the columns of
    ``records()``.

    ``mode`` "hybrid" (the default) finds by words and by meaning (a paraphrase, a spoken
    passage) and fuses the two orders; "words" only finds records holding every word of the
    query (runs of letters and digits, whole, any case); "meaning" ranks by the sentence
    vectors alone. A query without a word is a ``SearchError`` (a ``ValueError``).

    Example::

        fp.search("late payment", limit=5)[["rank", "name", "place", "passage"]]
        fp.search("invoice stapler", mode="words")
    """
    found = _store(settings).files.find(query, limit=limit, mode=mode)
    rows = [{"rank": i, "place": hit.place, "passage": hit.passage,
             "link": frames.link(record, hit), **frames.row(record)}
            for i, (record, hit) in enumerate(found, start=1)]
    return frames.typed(rows, leading=SEARCH_COLUMNS)


def similar(key_or_uuid: str, limit: int = 10, *,
            settings: Settings | None = None) -> pd.DataFrame:
    """Records nearest in meaning to one record, nearest first: ``rank``, ``similarity``
    (cosine, up to 1), the nearest ``place`` and ``passage``, then the columns of
    ``records()``.

    Example::

        fp.similar("invoice_25037-4aad360a2c10", limit=5)[["name", "similarity", "passage"]]
    """
    store = _store(settings)
    found = store.files.lookup(key_or_uuid)
    if found is None:
        raise KeyError(f"no record with key or uuid {key_or_uuid!r}")
    rows = [{"rank": i, "similarity": hit.score, "place": hit.place, "passage": hit.passage,
             "link": frames.link(record, hit), **frames.row(record)}
            for i, (record, hit) in enumerate(store.files.similar(found.key, limit), start=1)]
    return frames.typed(rows, leading={"rank": "Int64", "similarity": "Float64",
                                       **{k: v for k, v in SEARCH_COLUMNS.items()
                                          if k != "rank"}})


def _run_config(config: dict[str, Any]) -> dict[str, Any] | None:
    unknown = sorted(set(config) - set(STEP_CONFIG))
    if unknown:
        raise TypeError(f"process() got unknown settings {', '.join(unknown)}: "
                        f"it takes {', '.join(STEP_CONFIG)}")
    step = {k: v for k, v in config.items() if v is not None}
    if "whisper_backend" in step:
        from fileproc_dagster.defs.assets import WhisperBackend

        spelled = str(step["whisper_backend"])
        matches = [b for b in WhisperBackend if spelled in (b.name, b.value)]
        if not matches:
            raise ValueError(f"unknown whisper_backend {spelled!r}: choose from "
                             f"{', '.join(b.value for b in WhisperBackend)}")
        step["whisper_backend"] = matches[0].name
    return {"ops": {"file_description": {"config": step}}} if step else None


def _progress(total: int, enabled: bool) -> Any:
    try:
        import ipywidgets  # noqa: F401  (a notebook bar needs the widgets)
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm import tqdm
    return tqdm(total=total, unit="file", desc="processing", disable=not enabled)


def process(paths: str | Path | Sequence[str | Path], *, settings: Settings | None = None,
            progress: bool = True, **config: Any) -> pd.DataFrame:
    """Process files now, in this process, with the same Dagster assets the daemon runs, and
    return one row per path: ``path`` and ``duplicate``, then the columns of ``records()``.

    ``config`` sets the extraction step: ``ocr_language`` (e.g. ``"deu"``, ``"eng+fra"``),
    ``whisper_backend``, ``whisper_model``, ``image_tags``, ``timeout_s``. A file already
    described keeps its description (identical content is one record). Runs land in the
    configured Dagster instance, so they show in the UI.

    Example::

        fp.process(sorted(Path("scans").glob("*.png")), ocr_language="eng+deu")
    """
    from fileproc_dagster.app.runner import process_paths

    run_config = _run_config(config)
    settings = settings or Settings.from_env()
    chosen = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    rows: list[dict[str, Any]] = []
    with _progress(len(chosen), progress) as bar:
        for outcome in process_paths(settings, chosen, run_config=run_config):
            base = frames.row(outcome.record) if outcome.record else {
                "key": outcome.key, "state": State.FAILED.value, "error": outcome.error}
            rows.append({"path": str(outcome.path), "duplicate": outcome.duplicate, **base})
            bar.set_postfix_str(outcome.path.name[:40])
            bar.update()
    return frames.typed(rows, leading={"path": "string", "duplicate": "boolean"})


def describe_path(path: Path | str, options: ExtractOptions | None = None) -> Description:
    """Detect and describe one file directly, without Dagster or any records.

    Example::

        describe_path("letter.png", ExtractOptions(ocr_language="deu")).text[:200]
    """
    options = options or ExtractOptions()
    return describe(Path(path), detect(Path(path), options), options)
