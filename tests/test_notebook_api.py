"""The notebook API on files processed for real (corpus files, or the samples without the
corpus): typed frames, filters, one record's display, search on SQLite and PostgreSQL, and
process() with step configuration."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from PIL import Image

import fileproc_dagster as fp
from fileproc_dagster.app import frames
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.search import words
from fileproc_dagster.storage.states import State

pytestmark = pytest.mark.slow


def _settings(explored: Any) -> Settings:
    return Settings.from_env({"FILEPROC_HOME": str(explored.home)})


def _expected_dtypes(frame: pd.DataFrame) -> None:
    assert list(frame.columns[-len(frames.COLUMNS):]) == list(frames.COLUMNS)
    assert frame["type"].dtype == frames.TYPES and frame["state"].dtype == frames.STATES
    assert str(frame["created_at"].dtype) == "datetime64[ns, UTC]"
    assert frame["size"].dtype == "Int64" and frame["extraction_s"].dtype == "Float64"
    assert frame["name"].dtype == "string"


def _unique_words(frame: pd.DataFrame) -> dict[str, str]:
    """For each record, a word of five letters or more that no other record holds."""
    held = {row.key: set(words(f"{row.name} {row.description or ''} {row.text or ''}"))
            for row in frame.itertuples()}
    chosen = {}
    for key, own in held.items():
        others = set().union(*(w for k, w in held.items() if k != key))
        unique = sorted(w for w in own - others if len(w) >= 5 and w.isalpha())
        if unique:
            chosen[key] = unique[0]
    return chosen


def test_process_gives_one_typed_row_per_path(explored: Any) -> None:
    done = explored.processed
    assert list(done["path"]) == [str(p) for p in explored.paths]
    assert list(done.columns[:2]) == ["path", "duplicate"]
    _expected_dtypes(done)
    bad = done["name"] == "upload.pdf"  # the corpus's empty file
    assert set(done[bad]["state"]) <= {"quarantined"}
    assert set(done[~bad]["state"]) == {"done"}
    assert (done[~bad]["extraction_s"] > 0).all()
    assert not done["duplicate"].any()


def test_records_filters_by_type_state_and_time(explored: Any) -> None:
    settings = _settings(explored)
    everything = fp.records(settings=settings)
    _expected_dtypes(everything)
    assert sorted(everything["key"]) == sorted(explored.processed["key"])
    assert everything["created_at"].is_monotonic_decreasing  # newest first
    images = fp.records(type="image", settings=settings)
    assert len(images) >= 1 and set(images["type"]) == {"image"}
    several = fp.records(type=["document", "audio"], state="done", settings=settings)
    assert set(several["type"]) <= {"document", "audio"} and set(several["state"]) == {"done"}
    assert len(fp.records(since=timedelta(hours=1), settings=settings)) == len(everything)
    future = fp.records(since="2999-01-01", settings=settings)
    assert future.empty and list(future.columns) == list(everything.columns)
    assert (future.dtypes == everything.dtypes).all()
    with pytest.raises(ValueError, match="unknown type 'pdf': choose from document"):
        fp.records(type="pdf", settings=settings)
    with pytest.raises(ValueError, match="since must be"):
        fp.records(since="last tuesday-ish", settings=settings)


def test_one_record_shows_thumbnail_text_and_timed_transcript(explored: Any) -> None:
    settings = _settings(explored)
    everything = fp.records(state="done", settings=settings)
    image = fp.record(everything[everything["type"] == "image"]["key"].iloc[0],
                      settings=settings)
    found = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", image._repr_html_())
    assert found is not None
    assert min(Image.open(io.BytesIO(base64.b64decode(found.group(1)))).size) > 8
    document = everything[everything["type"] == "document"].iloc[0]
    shown = fp.record(document["uuid"], settings=settings)  # by uuid as well as by key
    assert shown.key == document["key"]
    assert " ".join(document["text"].split()[:5]) in " ".join(shown._repr_html_().split())
    audio = fp.record(everything[everything["type"] == "audio"]["key"].iloc[0],
                      settings=settings)
    segments = audio.segments
    assert len(segments) >= 1 and (segments["end"] > segments["start"]).all()
    first = segments.iloc[0]
    html = audio._repr_html_()
    assert f"{int(first.start // 60)}:{first.start % 60:04.1f}" in html
    assert str(first.text).strip()[:20] in html
    with pytest.raises(KeyError, match="no record with key or uuid"):
        fp.record("no-such-record", settings=settings)


def test_search_ranks_the_only_holder_of_a_word_first(explored: Any) -> None:
    settings = _settings(explored)
    everything = fp.records(settings=settings)
    chosen = _unique_words(everything[everything["state"] == "done"])
    assert len(chosen) >= 3
    for key, word in chosen.items():
        found = fp.search(word.upper(), settings=settings)
        assert found["key"].iloc[0] == key, word
        assert list(found["rank"]) == list(range(1, len(found) + 1))
    assert found["rank"].dtype == "Int64"
    _expected_dtypes(found)
    with pytest.raises(ValueError, match="nothing to search for"):
        fp.search('"*"', settings=settings)


def _copy(source: Records, target: Records) -> None:
    """The same records written into another database through the records layer."""
    for record in source.files.all():
        if record.state is State.QUARANTINED:
            target.uploads.refuse(record.key, record.name, record.sha256, record.size, 0,
                                  record.error or "", record.details or {})
            continue
        target.uploads.receive(record.key, record.name, record.sha256, record.size, 0)
        target.files.insert(record.key, State.STORED, type=record.type or "",
                            mime=record.mime or "", location=record.location or "")
        target.files.advance(record.key, State.DESCRIBED, description=record.description,
                             text=record.text, details=record.details)
        target.files.advance(record.key, State.DONE)


def test_search_on_postgresql_ranks_the_same_files_in_the_same_order(
        explored: Any, pg_url: str) -> None:
    lite = Records(_settings(explored).db_url)
    pg = Records(pg_url)
    _copy(lite, pg)
    on_pg = fp.records(settings=Settings.from_env({"FILEPROC_DB_URL": pg_url}))
    for key, word in _unique_words(on_pg[on_pg["state"] == "done"]).items():
        assert pg.files.search(word)[0].key == key, word
    common = [w for w, _ in pd.Series(words(" ".join(on_pg["text"].dropna())))
              .value_counts().head(15).items()]
    for query in [*common, " ".join(common[:2]), "policy returns", "morning"]:
        assert [r.key for r in pg.files.search(query)] == \
            [r.key for r in lite.files.search(query)], query


def test_process_passes_the_extraction_settings_to_the_run(
        settings: Settings, samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", "")  # process() sets it for this home; undone after
    with pytest.raises(TypeError, match="unknown settings ocr_lang"):
        fp.process([samples["notice_scan"]], settings=settings, ocr_lang="deu")
    with pytest.raises(ValueError, match="unknown whisper_backend 'whisperx'"):
        fp.process([samples["notice_scan"]], settings=settings, whisper_backend="whisperx")
    done = fp.process(samples["notice_scan"], settings=settings, progress=False,
                      ocr_language="eng+deu", whisper_backend="faster-whisper")
    assert list(done["state"]) == ["done"] and "Harbour" in done["text"].iloc[0]
    runs = dg.DagsterInstance.get().get_runs()
    config = runs[0].run_config["ops"]["file_description"]["config"]
    assert config == {"ocr_language": "eng+deu", "whisper_backend": "faster-whisper"}
