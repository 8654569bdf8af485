"""Records as pandas DataFrames: one row per record, the same columns and dtypes every time.

Types and states are categoricals that list every possible value (so counts show zeros and
plots keep their order), numbers are nullable (``Int64``, ``Float64``), moments are
``datetime64[ns, UTC]``, and the facts most worth a column are lifted out of ``details``. The
columns are the fields of ``storage/fields.py``, in its order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from fileproc_dagster.describe.model import FileKind
from fileproc_dagster.storage import fields as record_fields
from fileproc_dagster.storage.files import Record
from fileproc_dagster.storage.states import State

TYPES = pd.CategoricalDtype([kind.value for kind in FileKind])
STATES = pd.CategoricalDtype([state.value for state in State])
MOMENT = pd.DatetimeTZDtype("ns", UTC)

# The dtype of each kind of field; categories list every value of their field.
_DTYPES: dict[str, Any] = {"text": "string", "integer": "Int64", "number": "Float64",
                           "moment": MOMENT, "json": object}
_CATEGORIES: dict[str, pd.CategoricalDtype] = {"type": TYPES, "state": STATES}


def columns() -> dict[str, Any]:
    """Column -> dtype, in order: one per field of ``storage/fields.py``."""
    return {f.name: _CATEGORIES[f.name] if f.kind == "category" else _DTYPES[f.kind]
            for f in record_fields.FIELDS}


COLUMNS: dict[str, Any] = columns()


def row(record: Record) -> dict[str, Any]:
    """One record as a row of ``COLUMNS``."""
    return {f.name: f.get(record) for f in record_fields.FIELDS}


def typed(rows: Sequence[dict[str, Any]], leading: dict[str, Any] | None = None) -> pd.DataFrame:
    """A DataFrame of rows with ``leading`` columns (name -> dtype) before ``COLUMNS``."""
    dtypes = {**(leading or {}), **columns()}
    frame = pd.DataFrame(list(rows), columns=list(dtypes))
    for column, dtype in dtypes.items():
        if dtype is MOMENT:
            frame[column] = pd.to_datetime(frame[column], utc=True).astype(MOMENT)
        elif dtype is not object:
            frame[column] = frame[column].astype(dtype)
    return frame


def frame(records: Iterable[Record]) -> pd.DataFrame:
    """Records as a DataFrame of ``COLUMNS``, in the order given."""
    return typed([row(record) for record in records])


def choices(value: str | Iterable[str] | None, allowed: Iterable[str], what: str) -> list[str]:
    """One value or several, each checked against ``allowed``; none given: no filter."""
    if value is None:
        return []
    values = [value] if isinstance(value, str) else [str(v) for v in value]
    known = [str(a) for a in allowed]
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))}: "
                         f"choose from {', '.join(known)}")
    return values


def moment(since: datetime | date | timedelta | str | None) -> datetime | None:
    """A moment from a datetime, a date, a string pandas reads, or a timedelta back from now;
    a moment without a zone is taken as UTC."""
    if since is None:
        return None
    if isinstance(since, timedelta):
        return datetime.now(UTC) - since
    try:
        stamp = pd.Timestamp(since)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"since must be a date, a datetime, a timedelta or a date string "
                         f"such as '2025-01-31 08:00', not {since!r}") from exc
    if pd.isna(stamp):
        raise ValueError(f"since is not a moment: {since!r}")
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    start: datetime = stamp.to_pydatetime()
    return start


def link(record: Record, hit: Any) -> str | None:
    """Where a search hit is: the stored object opened at its page (``#page=N``, as PDF
    viewers read it) or at its second (``#t=S``, a media fragment), or the object itself."""
    if not record.location:
        return None
    if hit.start_s is not None:
        return f"{record.location}#t={int(hit.start_s)}"
    if hit.page is not None:
        return f"{record.location}#page={hit.page}"
    return record.location
