"""Prometheus metrics of one installation, computed on each scrape: ``fileproc metrics``.

Dagster OSS serves no ``/metrics`` (dagster #4480, #11191) and dagster-prometheus only pushes
from inside ops, so this small server answers each scrape by asking the sources themselves:
the records database (files by state and type, uploads, notifications owed, processing
times), the upload and quarantine directories, and the Dagster instance of DAGSTER_HOME (runs
of ``process_file`` by status). Nothing is kept between scrapes.

A records database that cannot be reached yields ``fileproc_up 0`` and nothing else; a Dagster
instance that cannot be read yields ``fileproc_dagster_up 0`` and no run metrics.

Example::

    with serve(Settings.from_env(), "127.0.0.1", 9108) as server:
        server.wait()  # until SIGTERM or Ctrl-C
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType

import dagster as dg
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fileproc_dagster.defs._dagster_compat import runs_count
from fileproc_dagster.describe.model import FileKind
from fileproc_dagster.intake.census import quarantine_usage, unregistered
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State

log = logging.getLogger(__name__)

DEFAULT_PORT = 9108
# The name of defs.jobs.process_file, whose import would load every asset and extractor.
PROCESS_JOB = "process_file"
# The runs a file waits in or is worked on by; ended runs are Dagster's history, not a queue.
RUN_STATUSES = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED)
# From a text file (well under a second) to a long recording or a queue backed up for an hour.
PROCESSING_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
                      float("inf"))
PROCESSING_WINDOW = 1000  # the files done last that the processing-time histogram covers
UP_HELP = "Whether the records database and the upload directories could be read."
NO_TYPE = "unknown"  # a record whose content was never typed (not stored yet, refused unread)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _le(bound: float) -> str:
    """A bucket's upper bound as Prometheus writes it: ``10.0``, ``+Inf``."""
    return "+Inf" if bound == float("inf") else str(bound)


class FileprocCollector(Collector):
    """Reads every metric from its source when Prometheus scrapes; one scrape at a time."""

    def __init__(self, settings: Settings, records: Records | None = None,
                 instance: Callable[[], dg.DagsterInstance] = dg.DagsterInstance.get,
                 window: int = PROCESSING_WINDOW) -> None:
        self.settings = settings
        self.records = records or Records(settings.db_url)
        self.window = window
        self._make_instance = instance
        self._instance: dg.DagsterInstance | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            started = time.monotonic()
            try:
                families = [*self._records(), *self._directories()]
            except Exception as exc:  # a scrape must answer, saying the source is down
                log.warning("metrics: cannot read the records: %s", exc)
                return [_gauge("fileproc_up", UP_HELP, 0)]
            families += self._dagster()
            families.append(_gauge("fileproc_scrape_duration_seconds",
                                   "Time taken to compute these metrics.",
                                   time.monotonic() - started))
            return [_gauge("fileproc_up", UP_HELP, 1),
                    *families]

    def _records(self) -> Iterator[Metric]:
        files = GaugeMetricFamily("fileproc_files", "Records by state and content type.",
                                  labels=["state", "type"])
        counts = {(state, kind or NO_TYPE): n
                  for (state, kind), n in self.records.files.counts().items()}
        kinds = sorted({*FileKind, *(kind for _, kind in counts)})
        for state in State:
            for kind in kinds:
                files.add_metric([state, kind], counts.get((state, kind), 0))
        yield files
        yield self._processing_times()
        yield _gauge("fileproc_uploads_pending",
                     "Uploads registered and still in the upload directory (not yet handled).",
                     self.records.uploads.pending_count())
        yield _gauge("fileproc_notifications_owed",
                     "Notifications entered in the ledger and never stamped sent.",
                     self.records.ledger.owed())

    def _processing_times(self) -> Metric:
        histogram = GaugeHistogramMetricFamily(
            "fileproc_file_processing_seconds",
            f"Registration to done of the last {self.window} files done, by type "
            "(run queue included).", labels=["type"])
        by_kind: dict[str, list[float]] = {k: [] for k in FileKind if k != FileKind.UNSUPPORTED}
        for kind, seconds in self.records.files.processing_times(self.window):
            by_kind.setdefault(kind or NO_TYPE, []).append(seconds)
        for kind, times in sorted(by_kind.items()):
            buckets = [(_le(bound), float(sum(t <= bound for t in times)))
                       for bound in PROCESSING_BUCKETS]
            histogram.add_metric([kind], buckets, sum(times))
        return histogram

    def _directories(self) -> Iterator[Metric]:
        registered = self.records.uploads.pending_names()
        yield _gauge("fileproc_uploads_waiting",
                     "Files in the upload directory not registered yet (settling or not seen).",
                     unregistered(self.settings.upload_dir, registered))
        usage = quarantine_usage(self.settings.quarantine_dir)
        yield _gauge("fileproc_quarantine_entries", "Bad uploads kept in quarantine.",
                     usage.entries)
        yield _gauge("fileproc_quarantine_bytes",
                     "Size of the regular files kept in quarantine.", usage.bytes)

    def _dagster(self) -> list[Metric]:
        up = "fileproc_dagster_up"
        up_help = "Whether the Dagster instance's run storage answered."
        try:
            if self._instance is None:
                self._instance = self._make_instance()
            instance = self._instance
            runs = GaugeMetricFamily("fileproc_dagster_runs",
                                     f"Runs of {PROCESS_JOB} by status.",
                                     labels=["job", "status"])
            for status in RUN_STATUSES:
                count = runs_count(instance, dg.RunsFilter(
                    job_name=PROCESS_JOB, statuses=[status]))
                runs.add_metric([PROCESS_JOB, status.value.lower()], count)
            oldest = instance.get_run_records(dg.RunsFilter(
                job_name=PROCESS_JOB, statuses=[dg.DagsterRunStatus.QUEUED]),
                limit=1, ascending=True)
        except Exception as exc:
            log.warning("metrics: Dagster instance unavailable: %s", exc)
            return [_gauge(up, up_help, 0)]
        waited = 0.0
        if oldest:
            created = oldest[0].create_timestamp
            created = created if created.tzinfo else created.replace(tzinfo=UTC)
            waited = max(0.0, (datetime.now(UTC) - created).total_seconds())
        return [_gauge(up, up_help, 1), runs,
                _gauge("fileproc_dagster_oldest_queued_run_seconds",
                       f"How long the oldest queued run of {PROCESS_JOB} has waited.",
                       waited)]


class MetricsServer:
    """The HTTP server of the metrics, in a thread of this process."""

    def __init__(self, collector: Collector, host: str, port: int) -> None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(collector)
        self._httpd, self._thread = start_http_server(port, addr=host, registry=registry)
        self.host = host
        self.port = int(self._httpd.server_port)
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def wait(self) -> None:
        """Serve until SIGTERM or Ctrl-C (call from the main thread)."""

        def stop(_signum: int, _frame: FrameType | None) -> None:
            self._stop.set()

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            self._stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)

    def close(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@contextmanager
def serve(settings: Settings, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
          records: Records | None = None,
          instance: Callable[[], dg.DagsterInstance] = dg.DagsterInstance.get,
          ) -> Iterator[MetricsServer]:
    """Serve the metrics of ``settings`` on ``host:port`` (port 0: any free port) while open."""
    server = MetricsServer(FileprocCollector(settings, records, instance), host, port)
    log.info("serving Prometheus metrics on %s", server.url)
    try:
        yield server
    finally:
        server.close()
