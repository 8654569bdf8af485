"""The one place that says which failures are retried and which are not."""

from __future__ import annotations


class FileprocError(Exception):
    """Base class of every error fileproc_dagster raises on purpose."""


class BadInput(FileprocError):
    """The file itself is the problem: retrying cannot help, the upload is quarantined.

    ``verdict`` is ``"invalid"`` (broken, empty, truncated, a decompression bomb...) or
    ``"unsupported"`` (a well-formed file of a kind we do not process: zip, HTML...).
    """

    def __init__(self, reason: str, *, verdict: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.verdict = verdict


class TransientError(FileprocError):
    """Something outside the file failed (storage, database, a timeout): worth a retry."""


class StepTimeout(TransientError):
    """A step ran past its configured time limit and was stopped."""


class Cancelled(TransientError):
    """An extraction was stopped because nobody waits for it any more (its step ended early);
    nothing is wrong with the file."""


class ConfigurationError(FileprocError):
    """The installation is set up wrong (a missing bucket, refused credentials): an operator
    has to fix it; retrying alone cannot help."""


class LostUpload(FileprocError):
    """The upload vanished before its bytes were stored: nothing to retry, the record fails."""


class MemoryLimit(BadInput):
    """Describing the file needed more memory than the extraction worker may use.

    Permanent for that file under that limit: it is quarantined, and can be released for
    another try once the limit is raised.
    """


class Undelivered(TransientError):
    """Notification targets that did not accept a message (down, refusing, misconfigured).

    The file it is about is done regardless; the ledger keeps the message owed to those
    targets, and a resend tries them again. ``failures`` names each target, never its URL.
    """

    def __init__(self, notification_id: str, failures: list[str]) -> None:
        super().__init__(f"notification {notification_id} not delivered: "
                         + "; ".join(failures))
        self.notification_id = notification_id
        self.failures = failures


def size_text(n: int) -> str:
    """A byte count as people read it in a reason (binary units)."""
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"
