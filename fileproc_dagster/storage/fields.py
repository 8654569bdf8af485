"""A record's fields, declared once: the CLI's JSON, the notebook's frame and ``fileproc show``
are all built from ``FIELDS``.

Each field has a name, a line of help, how it is read from a ``Record`` and the kind of value
it holds (which decides the frame's column type). A field ``lifted`` out of ``details`` (pages,
duration, language...) is a column of the frame only: the JSON and ``show`` carry the details
whole. Adding a field is one entry here (and the column, if it is stored).

Example::

    from fileproc_dagster.storage.fields import stored
    [f.name for f in stored()]  # the keys of Record.as_json()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

from fileproc_dagster.storage.states import State

if TYPE_CHECKING:
    from fileproc_dagster.storage.files import Record

# text, integer, number (float), category (one of a fixed set), moment (UTC), json (any).
Kind = Literal["text", "integer", "number", "category", "moment", "json"]


@dataclass(frozen=True)
class Field:
    """One field of a record as users see it."""

    name: str
    help: str
    get: Callable[[Record], Any]
    kind: Kind = "text"
    lifted: bool = False  # from details: a frame column only


def _fact(name: str) -> Callable[[Record], Any]:
    """A plain value (number or string) of ``details``, or None."""

    def get(record: Record) -> Any:
        value = (record.details or {}).get(name)
        plain = isinstance(value, int | float | str) and not isinstance(value, bool)
        return value if plain else None

    return get


def properties(record: Record) -> dict[str, Any]:
    """The document's own properties (title, author, created...), from ``details``."""
    found = (record.details or {}).get("properties")
    return found if isinstance(found, dict) else {}


def _property(name: str) -> Callable[[Record], str | None]:
    def get(record: Record) -> str | None:
        value = properties(record).get(name)
        return str(value) if isinstance(value, int | float | str) and value != "" else None

    return get


def _property_moment(name: str) -> Callable[[Record], datetime | None]:
    """An ISO 8601 moment of the properties, in UTC (one without a zone taken as UTC)."""

    def get(record: Record) -> datetime | None:
        value = properties(record).get(name)
        try:
            moment = datetime.fromisoformat(str(value)) if value else None
        except ValueError:
            return None
        if moment is None:
            return None
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

    return get


def _tables(record: Record) -> int | None:
    return None if record.tables is None else len(record.tables)


def _words(record: Record) -> int | None:
    return None if record.text is None else len(record.text.split())


def _state(record: Record) -> str:
    return str(record.state)


# In the order of the frame's columns.
FIELDS: tuple[Field, ...] = (
    Field("key", "the partition key: the file's name and the start of its sha256",
          attrgetter("key")),
    Field("uuid", "the record's id in the database", attrgetter("uuid")),
    Field("name", "the file's name as uploaded", attrgetter("name")),
    Field("type", "document, image, audio, video, archive or unsupported (from the content)",
          attrgetter("type"), "category"),
    Field("state", f"where the file is: {', '.join(State)}", _state, "category"),
    Field("mime", "the content's MIME type", attrgetter("mime")),
    Field("size", "the file's size in bytes", attrgetter("size"), "integer"),
    Field("description", "what the file is, in one line", attrgetter("description")),
    Field("text", "the recognised text or the transcript", attrgetter("text")),
    Field("markdown", "the text with its structure: headings, lists, tables, page breaks",
          attrgetter("markdown")),
    Field("tables", "the tables found, each {name, rows}: the first row the header",
          attrgetter("tables"), "json"),
    Field("title", "the document's title, as it says", _property("title"), lifted=True),
    Field("author", "the document's author, as it says", _property("author"), lifted=True),
    Field("created", "when the document says it was created (UTC)", _property_moment("created"),
          "moment", lifted=True),
    Field("modified", "when the document says it was last modified (UTC)",
          _property_moment("modified"), "moment", lifted=True),
    Field("table_count", "tables found in the document", _tables, "integer", lifted=True),
    Field("words", "words in the text", _words, "integer", lifted=True),
    Field("pages", "pages of a document", _fact("pages"), "integer", lifted=True),
    Field("duration_s", "seconds of a recording or a video", _fact("duration_s"), "number",
          lifted=True),
    Field("language", "language of the text or speech", _fact("language"), lifted=True),
    Field("extraction_s", "seconds the description took", _fact("extraction_seconds"),
          "number", lifted=True),
    Field("location", "where the object is stored (file:// or s3:// URI)",
          attrgetter("location")),
    Field("thumbnail", "where the thumbnail is stored", _fact("thumbnail"), lifted=True),
    Field("sha256", "the content's SHA-256", attrgetter("sha256")),
    Field("parent_key", "the archive or mail the file came out of (its key), if any",
          attrgetter("parent_key")),
    Field("error", "why the file failed or was quarantined", attrgetter("error")),
    Field("details", "every fact the description found (JSON)", attrgetter("details"), "json"),
    Field("created_at", "when the file was registered (UTC)", attrgetter("created_at"),
          "moment"),
    Field("updated_at", "when its state last changed (UTC)", attrgetter("updated_at"),
          "moment"),
)



def stored() -> tuple[Field, ...]:
    """The fields of the JSON and of ``fileproc show``: all but those lifted from details."""
    return tuple(f for f in FIELDS if not f.lifted)


def names() -> str:
    """``key, uuid, name, ...``: the fields of the JSON, for a help text."""
    return ", ".join(f.name for f in stored())
