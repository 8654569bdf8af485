"""Running one step over the files of a run, each with its own outcome.

Bad input is quarantined and never retried. A transient error retries the step (files already
finished skip their work, every side effect being idempotent) and, on the last attempt, fails
that file's record. A run of one partition fails like any Dagster step; in a multi-file run
the other files go on, and the failed ones are flagged so the sensor can give each a run of
its own that reports the failure on its partition (Dagster cannot fail one partition of a
multi-partition step). A wrong installation (a missing bucket, refused credentials) fails the
step at once, without retries: every file would meet it again.

The run's log has a line per file; lines of files that finish within seconds of each other
share a message (each message is a write to Dagster's event log), see ``StepLog``.
"""

import time
from collections.abc import Callable
from logging import Logger
from typing import Any

import dagster as dg

from fileproc_dagster.errors import BadInput, ConfigurationError, LostUpload
from fileproc_dagster.pipeline import Pipeline
from fileproc_dagster.workers.worker import deadline

from ._dagster_compat import add_partition_metadata

# Dagster's run log shows a message up to 200 px high (about ten lines) without a click.
LINES_PER_MESSAGE = 10
# A line waits at most this long for others to share its message (a slow file's line is
# written as soon as it is known).
FLUSH_S = 2.0


class StepLog:
    """A step's lines for the run log: several to a message while files finish quickly, each
    alone once a file takes seconds; warnings at once, in their own message."""

    def __init__(self, log: Logger, lines: int = LINES_PER_MESSAGE,
                 flush_s: float = FLUSH_S) -> None:
        self._log, self._max_lines, self._flush_s = log, lines, flush_s
        self._lines: list[str] = []
        self._flushed = time.monotonic()

    def info(self, line: str) -> None:
        self._lines.append(line)
        if (len(self._lines) >= self._max_lines
                or time.monotonic() - self._flushed >= self._flush_s):
            self.flush()

    def warning(self, line: str) -> None:
        self.flush()
        self._log.warning(line)

    def flush(self) -> None:
        if self._lines:
            self._log.info("\n".join(self._lines))
            self._lines = []
        self._flushed = time.monotonic()


def for_each_file(context: dg.AssetExecutionContext, files: Pipeline, what: str,
                  step: Callable[[str], dict[str, Any]], timeout_s: float = 0,
                  first_step: bool = False) -> dg.MaterializeResult:
    """Apply ``step`` to every partition of the run; per-file metadata, errors and limits."""
    log = StepLog(context.log)
    try:
        return _each_file(context, files, what, step, timeout_s, first_step, log)
    finally:
        log.flush()


def _each_file(context: dg.AssetExecutionContext, files: Pipeline, what: str,
               step: Callable[[str], dict[str, Any]], timeout_s: float, first_step: bool,
               log: StepLog) -> dg.MaterializeResult:
    keys = context.partition_keys
    single = len(keys) == 1
    done: list[str] = []
    failed: dict[str, str] = {}
    transient: dict[str, Exception] = {}
    for key in keys:
        if not first_step:
            record = files.records.files.get(key)
            if record is not None and record.state.ended:
                files.settle(key)  # a quarantine an earlier attempt left half-done
                reason = record.error or record.state
                if single:
                    raise dg.Failure(description=f"{what}: {reason}", allow_retries=False)
                log.info(f"{key}: {what} skipped, {reason}")
                continue  # failed in an earlier step of this run
        started = time.perf_counter()
        try:
            with deadline(timeout_s, what):
                metadata = step(key)
        except BadInput as exc:
            files.quarantine(key, exc.reason)
            failed[key] = exc.reason
            log.warning(f"{key}: {what} quarantined it after {_took(started)}: "
                        f"{exc.reason}")
        except LostUpload as exc:
            files.fail(key, str(exc))
            failed[key] = str(exc)
            log.warning(f"{key}: {what} failed after {_took(started)}: {exc}")
        except ConfigurationError as exc:
            _misconfigured(files, keys, done, f"{what}: {exc}")
        except Exception as exc:
            log.warning(f"{key}: {what} failed after {_took(started)} "
                        f"(attempt {context.retry_number + 1}): {exc}")
            transient[key] = exc
        else:
            seconds = time.perf_counter() - started
            add_partition_metadata(context, key, {
                **metadata, "step_s": dg.MetadataValue.float(round(seconds, 3))})
            log.info(f"{key}: {what} done in {seconds:.2f} s")
            done.append(key)
    if transient:
        policy = context.op_def.retry_policy
        if policy is not None and context.retry_number < policy.max_retries:
            raise next(iter(transient.values()))
        for key, error in transient.items():
            files.fail(key, f"{what}: {error}")
            failed[key] = str(error)
    if failed and (single or not done):
        first = next(iter(failed.values()))
        raise dg.Failure(description=f"{what}: {first}" if single else
                         f"{what}: all {len(failed)} files failed, e.g. {first}",
                         allow_retries=False, metadata={"failed": failed})
    files.records.files.flag_verdicts(list(failed))
    if not single:  # a summary of the batch: metadata here would be copied to every file
        log.info(f"{what}: {len(done)} of {len(keys)} file(s) finished"
                 + (f", failed: {failed}" if failed else ""))
    return dg.MaterializeResult()


def _took(started: float) -> str:
    return f"{time.perf_counter() - started:.2f} s"
def _misconfigured(files: Pipeline, keys: list[str], done: list[str], reason: str) -> None:
    """Fail the files of the run not finished yet, then the step, never retried: an operator
    must fix the installation (re-executing the run then reprocesses them)."""
    for key in keys:
        record = files.records.files.get(key)
        if key not in done and (record is None or not record.state.ended):
            files.fail(key, reason)  # a file not recorded yet gets a failed record
    raise dg.Failure(description=f"{reason} (not retried: fix the installation, then "
                     "re-execute the run)", allow_retries=False)
