"""Bad input, table-driven: input -> end state and reason, through ``process_paths``.

Every broken, mislabelled, hostile or oversized file ends in a record with state quarantined
and a readable reason; its bytes are kept in quarantine (never deleted), it is never retried,
and the good files processed in the same batch around it are done.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import hostile as h
import pytest

from fileproc_dagster.app.runner import Outcome, process_paths
from fileproc_dagster.settings import Settings
from fileproc_dagster.workers import worker

LIMIT = 2 * h.MIB  # the upload size limit of these runs


@dataclass(frozen=True)
class Case:
    """One row of the table: an input and how it must end."""

    id: str
    name: str | bytes
    make: Callable[[], bytes]
    state: str
    reason: str


CASES = [
    Case("empty", "upload.pdf", lambda: b"", "quarantined", "empty file (0 bytes)"),
    Case("good text", "minutes.txt", lambda: h.text("board"), "done", ""),
    Case("random bytes named .pdf", "statement.pdf", lambda: h.random_bytes(40_000, 1),
         "quarantined", "unrecognised content"),
    Case("random bytes named .png", "holiday.png", lambda: h.random_bytes(5_000, 2),
         "quarantined", "named .png, but the content is application/octet-stream"),
    Case("random bytes named .txt", "notes.txt", lambda: h.random_bytes(5_000, 3),
         "quarantined", "unrecognised content"),
    Case("text named .jpg", "photo.jpg", lambda: h.text("parish"), "done", ""),
    Case("truncated PNG", "cut.png", lambda: h.truncated(h.png()), "quarantined",
         "PNG image is damaged: its pixels do not decode"),
    Case("truncated PDF", "cut.pdf", lambda: h.truncated(h.pdf_text()), "quarantined",
         "not a readable PDF (damaged or truncated)"),
    Case("truncated .docx", "cut.docx", lambda: h.truncated(h.docx()), "quarantined",
         "damaged zip container"),
    Case("encrypted PDF", "locked.pdf", h.encrypted_pdf, "quarantined",
         "encrypted PDF: a password is needed"),
    Case("zip archive", "photos.zip", h.zip_archive, "done", ""),
    Case("zip bomb", "backup.zip", lambda: h.zip_bomb("zeros.bin"), "quarantined",
         "over 100 times its size"),
    Case("zip bomb shaped as .docx", "report.docx", lambda: h.zip_bomb("word/document.xml"),
         "quarantined", "unpacks to more than 256 MiB (decompression bomb?)"),
    Case("HTML", "invoice.html", h.html, "done", ""),
    Case("decompression-bomb PNG", "thumb.png", h.png_bomb, "quarantined",
         "decompression bomb refused"),
    Case("corrupt WAV", "message.wav", h.corrupt_wav, "quarantined", "audio does not decode"),
    Case("zero-length WAV", "silence.wav", lambda: h.wav(0), "quarantined",
         "audio does not decode: no samples"),
    Case("PDF over the page limit", "book.pdf", lambda: h.pdf_pages(201), "quarantined",
         "PDF has 201 pages, more than the limit of 200"),
    Case("over the size limit", "huge.txt", lambda: h.text("budget", 600_000), "quarantined",
         "is over the upload limit of 2.0 MiB"),
    Case("shell metacharacters and a newline, bad content", "$(touch pwned);rm -rf ~\n`id`.pdf",
         lambda: h.random_bytes(3_000, 4), "quarantined", "unrecognised content"),
    Case("250-byte name, bad content", "n" * 246 + ".pdf", lambda: h.random_bytes(3_000, 5),
         "quarantined", "unrecognised content"),
    Case("name that is not UTF-8", b"caf\xe9 menu.txt", lambda: h.text("cafe"), "quarantined",
         "the file name is not valid UTF-8"),
    Case("unicode, spaces and a newline in the name", "Résumé final\n(1) 日本.txt",
         lambda: h.text("résumé"), "done", ""),
    Case("SQL in the name", "x'); DROP TABLE files;--.txt", lambda: h.text("sql"), "done", ""),
]

CORPUS_CASES = [
    ("upload.pdf", "quarantined", "empty file"),
    ("holiday_7692.png", "quarantined", "damaged: its pixels do not decode"),
    ("statement_1010.pdf", "quarantined", "unrecognised content"),
    ("contract_7195.pdf", "quarantined", "not a readable PDF"),
    ("confidential_2558.pdf", "quarantined", "encrypted PDF"),
    ("archive_4631.zip", "done", ""),
    ("page_4001.html", "done", ""),
    ("thumbnail_2305.png", "quarantined", "decompression bomb refused"),
    ("message_6172.wav", "quarantined", "audio does not decode"),
    ("clip_9640.mp4", "done", ""),  # a silent video: described by its keyframes
    ("photo_5894.jpg", "done", ""),
    ("Résumé final (1).pdf", "done", ""),
    ("a;rm -rf x$(id).png", "done", ""),
]


@dataclass(frozen=True)
class Batch:
    """The outcome of processing a list of files in one go, and the run events of it."""

    settings: Settings
    results: dict[str, tuple[Path, Outcome]]
    events: list[str]


def _process(home: Path, inputs: dict[str, Path]) -> Batch:
    settings = dataclasses.replace(Settings.from_env({"FILEPROC_HOME": str(home)}),
                                   max_upload_bytes=LIMIT)
    with dg.instance_for_test() as instance:
        # The members of an archive follow it, each with an outcome of its own.
        outcomes = [o for o in process_paths(settings, list(inputs.values()), instance=instance)
                    if o.record is None or o.record.parent_key is None]
        events = [e.dagster_event.event_type_value for run in instance.get_runs()
                  for e in instance.all_logs(run.run_id) if e.dagster_event]
    return Batch(settings, dict(zip(inputs, zip(inputs.values(), outcomes, strict=True),
                                    strict=True)), events)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batch]:
    sources = tmp_path_factory.mktemp("sources")
    inputs = {case.id: h.write(sources / str(i), case.name, case.make())
              for i, case in enumerate(CASES)}
    yield _process(tmp_path_factory.mktemp("home"), inputs)


@pytest.fixture(scope="module")
def corpus_batch(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Batch:
    return _process(tmp_path_factory.mktemp("corpus-home"),
                    {name: corpus / name for name, _, _ in CORPUS_CASES})


def _check(batch: Batch, key: str, state: str, reason: str) -> dict[str, Any]:
    path, outcome = batch.results[key]
    record = outcome.record
    assert record is not None, outcome.error
    assert record.state == state, (record.state, record.error)
    assert path.exists()  # the user's own file is never touched
    if state == "done":
        return record.as_json()
    assert reason in (record.error or ""), record.error
    assert str(batch.settings.upload_dir) not in (record.error or "")  # no internal paths
    return record.as_json()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_input_ends_in_its_state_with_a_reason(batch: Batch, case: Case) -> None:
    record = _check(batch, case.id, case.state, case.reason)
    path = batch.results[case.id][0]
    kept = batch.settings.quarantine_dir / record["key"] / path.name
    if case.id == "over the size limit":  # refused before a byte was read: nothing copied
        assert not kept.parent.exists()
    elif case.state == "quarantined":
        assert kept.read_bytes() == path.read_bytes()  # moved aside, never deleted


@pytest.mark.corpus
@pytest.mark.parametrize("name,state,reason", CORPUS_CASES)
def test_corpus_input_ends_in_its_state(corpus_batch: Batch, name: str, state: str,
                                        reason: str) -> None:
    _check(corpus_batch, name, state, reason)


def test_bad_input_is_never_retried_and_nothing_is_left_behind(batch: Batch) -> None:
    assert "STEP_UP_FOR_RETRY" not in batch.events
    assert os.listdir(batch.settings.upload_dir) == []
    assert not Path("pwned").exists()


def test_extraction_over_the_memory_bound_is_quarantined(settings: Settings,
                                                          samples: dict[str, Path]) -> None:
    # OCR of a page needs ~200 MiB (worker and tesseract together); allow it far less.
    tight = dataclasses.replace(settings, worker_memory_bytes=120 * h.MIB)
    try:
        with dg.instance_for_test() as instance:
            outcome, = process_paths(tight, [samples["notice_scan"]], instance=instance)
    finally:
        worker.set_memory_limit(worker.DEFAULT_MEMORY_BYTES)
    record = outcome.record
    assert record is not None and record.state == "quarantined", outcome
    assert "over the extraction worker's limit of 120 MiB" in (record.error or "")
    kept = settings.quarantine_dir / record.key / samples["notice_scan"].name
    assert kept.read_bytes() == samples["notice_scan"].read_bytes()
