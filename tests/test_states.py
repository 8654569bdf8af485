"""The state machine: every move in one table, every other move refused or ignored as stale."""

from __future__ import annotations

import itertools

import pytest

from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import (
    END,
    FLOW,
    TRANSITIONS,
    IllegalTransition,
    State,
    check,
    is_stale,
)

SHA = "cd" * 32
ALLOWED = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
STALE = {(a, b) for a, b in itertools.product(State, State) if a != b and is_stale(a, b)}
ILLEGAL = [(a, b) for a, b in itertools.product(State, State)
           if a != b and (a, b) not in ALLOWED | STALE]


def test_the_flow_and_its_ends() -> None:
    assert [s.value for s in FLOW] == ["received", "stored", "described", "done"]
    assert {s.value for s in END} == {"failed", "quarantined"}
    assert all(s.ended for s in END) and not any(s.ended for s in FLOW)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_moves_change_the_state(current: State, target: State) -> None:
    assert check(current, target) is True


@pytest.mark.parametrize("state", list(State))
def test_staying_in_a_state_rewrites_it(state: State) -> None:
    assert check(state, state) is True


@pytest.mark.parametrize(("current", "target"), sorted(STALE))
def test_stale_moves_are_ignored(current: State, target: State) -> None:
    assert check(current, target) is False


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_move_is_refused(current: State, target: State) -> None:
    with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
        check(current, target)


def test_the_table_leaves_no_pair_unclassified() -> None:
    pairs = {(a, b) for a, b in itertools.product(State, State) if a != b}
    assert ALLOWED | STALE | set(ILLEGAL) == pairs
    assert not ALLOWED & STALE
    # Skipping a step of the flow is never allowed: each step's work is what moves it.
    assert (State.RECEIVED, State.DONE) in ILLEGAL and (State.STORED, State.DONE) in ILLEGAL
    # An ended file goes on only through a reopen.
    assert (State.FAILED, State.STORED) in ILLEGAL
    assert (State.QUARANTINED, State.DONE) in ILLEGAL


def test_the_database_refuses_illegal_moves_and_keeps_the_state(records: Records) -> None:
    # On SQLite and on PostgreSQL (the ``records`` fixture).
    key = records.uploads.receive("k-cdcdcdcdcdcd", "k.txt", SHA, 5, 1).key
    records.files.insert(key, State.RECEIVED)
    with pytest.raises(IllegalTransition):
        records.files.advance(key, State.DONE)
    record = records.files.get(key)
    assert record is not None and record.state is State.RECEIVED
    records.files.fail(key, "broken", state=State.QUARANTINED)
    with pytest.raises(IllegalTransition):
        records.files.advance(key, State.STORED)
    record = records.files.get(key)
    assert record is not None and record.state is State.QUARANTINED
    assert record.error == "broken"
