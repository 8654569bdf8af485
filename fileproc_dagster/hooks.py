"""The seam at the step boundaries of a file, which does nothing in the product.

The pipeline and the upload sensor call a ``Hooks`` right after each side effect (and before
the object store put); the durability tests hand in one that kills the process there, fails
the object store or stalls the extraction. The product's ``FileprocResource.hooks()`` is
``NO_HOOKS``; only the tests' subclass of it returns other hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class Point(StrEnum):
    """Where a hook is called; each ``after_*`` point follows the side effect it names."""

    AFTER_DETECT = "after_detect"
    BEFORE_PUT = "before_put"
    AFTER_PUT = "after_put"
    AFTER_INSERT = "after_insert"
    AFTER_DESCRIBE = "after_describe"
    # A member of an archive or a mail is stored and registered as an upload of its own.
    AFTER_MEMBER = "after_member"
    AFTER_UPDATE = "after_update"
    AFTER_DELETE = "after_delete"
    AFTER_NOTIFY = "after_notify"
    # In a sensor tick: its uploads are registered, no run has been requested for them yet.
    AFTER_REGISTER = "after_register"


class Hooks:
    """Calls at the step boundaries of a file; here every one does nothing."""

    def at(self, point: Point, *subjects: str) -> None:
        """``point`` was reached for the files named by ``subjects`` (partition key, upload
        names)."""

    def extraction(self, fn: Callable[..., T], *subjects: str) -> Callable[..., T]:
        """What the extraction worker runs instead of ``fn`` for these files: ``fn`` itself.

        The result is sent to the worker process, so it must pickle: a module-level function
        or a ``functools.partial`` of one.
        """
        return fn


NO_HOOKS = Hooks()
