"""The states of a file's record and of an upload, with every allowed move in one table.

A record moves forward through ``received -> stored -> described -> done``; ``failed`` and
``quarantined`` end it until it is reopened (a reprocess or a release). A move the table does
not allow is an error, except a stale one, which is ignored on purpose: a late retry asking
for an earlier state of the flow (or failing a file that is done) cannot undo later work.
"""

from __future__ import annotations

from enum import StrEnum

from fileproc_dagster.errors import FileprocError


class State(StrEnum):
    """Where a file's record stands."""

    RECEIVED = "received"
    STORED = "stored"
    DESCRIBED = "described"
    DONE = "done"
    FAILED = "failed"
    QUARANTINED = "quarantined"

    @property
    def ended(self) -> bool:
        """Failed or quarantined: no step works on it until it is reopened."""
        return self in END


class UploadState(StrEnum):
    """What became of one file dropped into the upload directory."""

    PENDING = "pending"  # registered, still in the upload directory
    DELETED = "deleted"  # removed after its record was done
    QUARANTINED = "quarantined"  # moved aside as bad input
    GONE = "gone"  # vanished or replaced before it was handled
    RELEASED = "released"  # moved back for another try, which registers a new upload


FLOW = (State.RECEIVED, State.STORED, State.DESCRIBED, State.DONE)
END = (State.FAILED, State.QUARANTINED)
UNFINISHED = FLOW[:-1]

# Every move that changes a record's state; staying in a state rewrites its values.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.RECEIVED: frozenset({State.STORED, *END}),
    State.STORED: frozenset({State.DESCRIBED, *END}),
    State.DESCRIBED: frozenset({State.DONE, *END}),
    State.DONE: frozenset(),
    # Reopened for a reprocess or a release; an ended file may also be ended again otherwise.
    State.FAILED: frozenset({State.RECEIVED, State.QUARANTINED}),
    State.QUARANTINED: frozenset({State.RECEIVED, State.FAILED}),
}


class IllegalTransition(FileprocError):
    """A move between two states that the state machine does not allow."""


def is_stale(current: State, target: State) -> bool:
    """A late request that later work made moot: an earlier flow state, or ending a done file."""
    if current is State.DONE and target in END:
        return True
    return (current in FLOW and target in FLOW
            and FLOW.index(target) < FLOW.index(current))


def check(current: State, target: State) -> bool:
    """Whether ``current -> target`` changes the state (True) or is ignored as stale (False).

    Staying in a state is allowed (a retried step rewrites its values) and returns True; any
    other move that the table does not list raises IllegalTransition.
    """
    if target == current or target in TRANSITIONS[current]:
        return True
    if is_stale(current, target):
        return False
    raise IllegalTransition(f"a record cannot move from {current} to {target}")
