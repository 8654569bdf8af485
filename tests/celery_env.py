"""The production environment of the Celery tests, a mixed batch of files, and what the
embedded default and production leave behind, in a form that compares field for field."""

from __future__ import annotations

import dataclasses
import os
import shutil
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from fileproc_dagster.app.runner import process_paths
from fileproc_dagster.settings import S3Location, Settings
from fileproc_dagster.storage.records import Records
from support.production import comparable, local_objects, s3_objects, same_form

CORPUS = Path(os.environ.get("FILEPROC_CORPUS", Path(__file__).resolve().parents[2]
                             / "shared" / "corpus"))
# Documents (scan, text layer, plain text, Word), a photo, speech, two bad inputs.
CORPUS_BATCH = ("letter_8781.png", "returns_policy.pdf", "garden_committee_notes.txt",
                "council_minutes.docx", "IMG_20180619_135726.jpg", "message_6172.wav",
                "upload.pdf", "archive_4631.zip")
PREFIX = "prod"


def expected_records(files: list[Path]) -> int:
    """Records a batch ends with: one per file, and one per member of each zip in it (the
    batches' members are contents of their own)."""
    members = 0
    for path in files:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                members += sum(not info.is_dir() for info in archive.infolist())
    return len(files) + members


@dataclass(frozen=True)
class Production:
    """The settings and environment of one production deployment under test."""

    settings: Settings
    env: dict[str, str]
    s3: Any  # support.s3server.S3Server
    mail: Any  # support.receivers.MailReceiver
    hook: Any  # support.receivers.WebhookReceiver


def production_env(settings: Settings, dagster_url: str, records_url: str, s3: Any,
                   bucket: str, mail: Any, hook: Any, redis_url: str) -> Production:
    """Everything on its server: the production environment of docs/production.md, with
    Celery."""
    env = {
        "DAGSTER_PG_URL": sa.make_url(dagster_url).set(drivername="postgresql+psycopg2")
        .render_as_string(hide_password=False),
        "DAGSTER_EVENT_BATCH_SIZE": "50",
        "FILEPROC_DB_URL": records_url,
        "FILEPROC_STORE": f"s3://{bucket}/{PREFIX}",
        "FILEPROC_S3_ENDPOINT_URL": s3.endpoint_url,
        "FILEPROC_NOTIFY_URLS": f"{mail.url()} {hook.url()}",
        "FILEPROC_EXECUTOR": "celery",
        "FILEPROC_CELERY_BROKER": redis_url,
        "FILEPROC_CELERY_BACKEND": redis_url,
        # More, smaller runs than on one machine: a burst spreads over the workers.
        "FILEPROC_PARALLEL_RUNS": "4",
    }
    moved = dataclasses.replace(settings, db_url=records_url,
                                s3=S3Location(bucket, PREFIX, s3.endpoint_url))
    return Production(moved, env, s3, mail, hook)


def batch(directory: Path) -> list[Path]:
    """The mixed batch: corpus files, or (no corpus, not under CI) generated ones."""
    directory.mkdir(parents=True)
    if (CORPUS / "manifest.json").is_file():
        return [Path(shutil.copyfile(CORPUS / name, directory / name)) for name in CORPUS_BATCH]
    if os.environ.get("CI") == "true":
        pytest.fail(f"the development corpus is missing at {CORPUS} (CI must have it)")
    from support.samples import make_all

    made = make_all(directory)
    (directory / "minutes.txt").write_text("Minutes: the budget was approved on Thursday.\n")
    (directory / "upload.pdf").write_bytes(b"")
    with zipfile.ZipFile(directory / "archive.zip", "w") as archive:
        archive.writestr("a.txt", "zipped")
    return [*made, directory / "minutes.txt", directory / "upload.pdf", directory / "archive.zip"]


@dataclass(frozen=True)
class Outcome:
    """What a deployment left: records, objects, notifications and quarantined files."""

    records: dict[str, dict[str, Any]]
    objects: dict[str, str]
    outbox: Counter[tuple[str, str, str]]
    quarantined: list[str]
    mails: Counter[str] | None = None
    hooks: Counter[str] | None = None


def _outbox(settings: Settings) -> Counter[tuple[str, str, str]]:
    import json

    lines = settings.outbox.read_text().splitlines() if settings.outbox.exists() else []
    return Counter((n["key"], n["event"], same_form(n["message"]))
                   for n in map(json.loads, filter(str.strip, lines)))


def _common(settings: Settings) -> dict[str, Any]:
    records = Records(settings.db_url)
    quarantined = sorted(str(p.relative_to(settings.quarantine_dir))
                         for p in settings.quarantine_dir.rglob("*") if p.is_file())
    return {"records": {r.key: comparable(r) for r in records.files.all()},
            "outbox": _outbox(settings), "quarantined": quarantined}


def embedded_reference(files: list[Path], home: Path) -> Outcome:
    """The same files through the embedded default (SQLite, local store, outbox only)."""
    settings = Settings.from_env({"FILEPROC_HOME": str(home)})
    with dg.DagsterInstance.ephemeral() as instance:
        list(process_paths(settings, files, instance=instance))
    return Outcome(objects=local_objects(settings), **_common(settings))


def differences(got: dict[str, dict[str, Any]],
                expected: dict[str, dict[str, Any]]) -> list[str]:
    """Field by field, what differs between two sets of comparable records."""
    found = [f"{key}: only in one of them" for key in sorted(set(got) ^ set(expected))]
    for key in sorted(set(got) & set(expected)):
        for name in sorted(set(got[key]) | set(expected[key])):
            if got[key].get(name) != expected[key].get(name):
                found.append(f"{key}.{name}: {got[key].get(name)!r:.300} "
                             f"!= {expected[key].get(name)!r:.300}")
    return found


def production_outcome(production: Production) -> Outcome:
    settings = production.settings
    assert settings.s3 is not None
    objects = s3_objects(production.s3.client(), settings.s3.bucket, PREFIX)
    return Outcome(objects=objects,
                   mails=Counter(same_form(m.text) for m in production.mail.messages),
                   hooks=Counter(same_form(m) for m in production.hook.accepted),
                   **_common(settings))
