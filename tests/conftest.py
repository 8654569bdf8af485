"""Shared fixtures: the development corpus (scored tests), per-test FILEPROC_HOME, the real
daemon on it, the local S3 and PostgreSQL servers, records on either backend, and the
notification targets (SMTP and webhook receivers on loopback)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("FILEPROC_CORPUS", REPO.parent / "shared" / "corpus"))


def _corpus_or_skip() -> Path:
    if (CORPUS / "manifest.json").is_file():
        return CORPUS
    if os.environ.get("CI") == "true":
        pytest.fail(f"the development corpus is missing at {CORPUS} (CI must have it)")
    pytest.skip("development corpus not present (set FILEPROC_CORPUS)")


@pytest.fixture(scope="session")
def corpus() -> Path:
    return _corpus_or_skip()


@pytest.fixture(scope="session")
def manifest(corpus: Path) -> dict[str, dict[str, Any]]:
    """Corpus entries by file name."""
    files = json.loads((corpus / "manifest.json").read_text())["files"]
    return {f["name"]: f for f in files}


@pytest.fixture(scope="session")
def scorer(corpus: Path) -> ModuleType:
    """The corpus's own score.py (word accuracy / WER)."""
    return _load_scorer(corpus)


def _load_scorer(corpus: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_score", corpus / "score.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def word_accuracy() -> Callable[[str, str], float]:
    """The corpus scorer's word accuracy; without a corpus (never in CI) a close stand-in.

    The stand-in keeps the scorer's essentials: case-folded words with accents kept, order
    kept, accuracy = 1 - word error rate.
    """
    if (CORPUS / "score.py").is_file() or os.environ.get("CI") == "true":
        module = _load_scorer(_corpus_or_skip())
        return lambda expected, got: float(module.score(expected, got)["accuracy"])

    def accuracy(expected: str, got: str) -> float:
        ref, hyp = (re.findall(r"\w+", s.casefold()) for s in (expected, got))
        row = list(range(len(hyp) + 1))
        for i, word in enumerate(ref, 1):
            previous, row[0] = row[0], i
            for j, other in enumerate(hyp, 1):
                previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1,
                                               previous + (word != other))
        return max(0.0, 1 - row[-1] / max(1, len(ref)))

    return accuracy


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The project's own small samples, made from scratch (no corpus needed)."""
    from support.samples import make_all

    made = make_all(tmp_path_factory.mktemp("samples"))
    return {p.stem: p for p in made}


@pytest.fixture(scope="session")
def explored(samples: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A FILEPROC_HOME processed from corpus files (required under CI) or, without the
    corpus, from the samples; shared, so tests only read it (see tests/support/explore.py)."""
    from support.explore import choose, fill

    present = (CORPUS / "manifest.json").is_file()
    if not present and os.environ.get("CI") == "true":
        pytest.fail(f"the development corpus is missing at {CORPUS} (CI must have it)")
    paths, source = choose(CORPUS if present else None, samples)
    return fill(tmp_path_factory.mktemp("explored") / "home", paths, source)


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh embedded default under a temporary FILEPROC_HOME."""
    from fileproc_dagster.settings import Settings

    monkeypatch.setenv("FILEPROC_HOME", str(tmp_path / "home"))
    for var in ("FILEPROC_UPLOAD_DIR", "FILEPROC_STORE_DIR", "FILEPROC_QUARANTINE_DIR",
                "FILEPROC_OUTBOX", "FILEPROC_DB_URL", "DAGSTER_HOME", "FILEPROC_NOTIFY_URLS",
                "FILEPROC_STORE", "FILEPROC_S3_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    resolved = Settings.from_env()
    resolved.ensure_dirs()
    return resolved


@pytest.fixture()
def daemon(settings: Any) -> Iterator[Any]:
    """``dagster-daemon run`` on the temporary settings, sensor ticking every second."""
    from daemon import running

    with running(settings):
        yield settings


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    """moto's S3 over HTTP on loopback for the session (see tests/support/s3server.py)."""
    from support.s3server import running

    yield from running()


@pytest.fixture()
def s3_bucket(s3_server: Any) -> str:
    """A new, empty bucket on the session's S3 server."""
    return str(s3_server.new_bucket())


@pytest.fixture()
def s3_env(s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The standard AWS variables with test credentials; nothing read from the user's files."""
    from support.s3server import ENVIRONMENT

    for var, value in ENVIRONMENT.items():
        monkeypatch.setenv(var, value)
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    return s3_server


@pytest.fixture()
def openai_whisper() -> ModuleType:
    """The optional openai-whisper backend (``whisper`` and torch). Where the extra is not
    installed, the tests that need it are skipped, saying why; where
    FILEPROC_REQUIRE_OPENAI_WHISPER=1 (CI's step that installs it) they fail instead."""
    missing = [m for m in ("whisper", "torch") if importlib.util.find_spec(m) is None]
    if missing:
        why = f"the optional openai-whisper extra is not installed (no {', '.join(missing)})"
        if os.environ.get("FILEPROC_REQUIRE_OPENAI_WHISPER") == "1":
            pytest.fail(f"{why}, yet FILEPROC_REQUIRE_OPENAI_WHISPER=1 requires it")
        pytest.skip(f"{why}; pip install -e '.[openai-whisper]' to run this test")
    import whisper

    return whisper


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A throw-away database on the local PostgreSQL server for the session, dropped after.

    A server that is down is started when the tests may (root, pg_ctlcluster); otherwise the
    tests that need it fail under CI and are skipped, saying why, elsewhere.
    """
    from support import postgres as pg

    problem = pg.ensure_running()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI: {problem}")
        pytest.skip(f"PostgreSQL unavailable: {problem}")
    yield from pg.session_database()


@pytest.fixture()
def pg_url(postgres: Any) -> Iterator[str]:
    """The plain ``postgresql://`` URL of a fresh, empty schema, dropped after the test."""
    url = postgres.new_schema()
    yield url
    postgres.drop_schema(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The records database backend a test runs on; tests asking for it run on both."""
    return str(request.param)


@pytest.fixture()
def new_db_url(backend: str, tmp_path: Path,
               request: pytest.FixtureRequest) -> Iterator[Callable[[], str]]:
    """Makes empty records databases on the test's backend: SQLite files or new schemas."""
    postgres = request.getfixturevalue("postgres") if backend == "postgresql" else None
    made: list[str] = []

    def new() -> str:
        if postgres is None:
            url = f"sqlite:///{tmp_path / f'records-{len(made)}.db'}"
        else:
            url = postgres.new_schema()
        made.append(url)
        return url

    yield new
    if postgres is not None:
        for url in made:
            postgres.drop_schema(url)


@pytest.fixture()
def db_url(new_db_url: Callable[[], str]) -> str:
    """An empty records database on the test's backend."""
    return new_db_url()


@pytest.fixture()
def records(db_url: str) -> Any:
    """Records over an empty database, on SQLite and on PostgreSQL."""
    from fileproc_dagster.storage.records import Records

    return Records(db_url)


@pytest.fixture()
def mail_receiver() -> Iterator[Any]:
    """An SMTP server on loopback checking a login; ``.url()`` is its ``mailto://`` URL."""
    from support.receivers import MailReceiver

    receiver = MailReceiver(user="notifier", password="mail-Pa55word").start()
    yield receiver
    receiver.stop()


@pytest.fixture()
def webhook_receiver() -> Iterator[Any]:
    """A JSON webhook on loopback answering ``.status``; ``.url()`` is its ``json://`` URL."""
    from support.receivers import WebhookReceiver

    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture()
def redis_url() -> Iterator[str]:
    """The tests' own Redis database (started if down), empty before and after the test."""
    from support import celery_workers

    problem = celery_workers.ensure_running()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI: {problem}")
        pytest.skip(f"Redis unavailable: {problem}")
    celery_workers.flush()
    yield celery_workers.REDIS_URL
    celery_workers.flush()


@pytest.fixture()
def production(settings: Any, postgres: Any, pg_url: str, s3_env: Any, mail_receiver: Any,
               webhook_receiver: Any, redis_url: str,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The production deployment's settings and environment: records and Dagster's instance
    on PostgreSQL (schemas of their own), S3 on moto's server, Celery on Redis, mail and
    webhook targets (tests/celery_env.py)."""
    from celery_env import production_env

    dagster_url = postgres.new_schema()
    made = production_env(settings, dagster_url, pg_url, s3_env, s3_env.new_bucket(),
                          mail_receiver, webhook_receiver, redis_url)
    monkeypatch.setenv("DAGSTER_PG_URL", made.env["DAGSTER_PG_URL"])  # to read the instance
    yield made
    postgres.drop_schema(dagster_url)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Captured output as valid UTF-8: a test's process may print bytes of the hostile files it
    reads, which a parallel run's report (sent between processes) cannot carry otherwise."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    report.sections = [(title, text.encode("utf-8", "replace").decode("utf-8"))
                       for title, text in report.sections]
