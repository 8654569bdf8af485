"""A record's fields are declared once (``storage/fields.py``): ``as_json``, ``records --json``,
``show`` (text and JSON), the notebook frame and the ``--json`` help texts all follow that list,
and a field added to it shows up in each of them."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from click.testing import CliRunner

from fileproc_dagster.app import frames
from fileproc_dagster.app.cli import cli
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage import fields as record_fields
from fileproc_dagster.storage.fields import Field
from fileproc_dagster.storage.records import Record, Records
from fileproc_dagster.storage.states import State

STORED = [f.name for f in record_fields.FIELDS if not f.lifted]


@pytest.fixture()
def record(settings: Settings) -> Record:
    """One record, done, with text and details, in the settings' database."""
    settings.ensure_dirs()
    records = Records(settings.db_url)
    data = b"The lending policy: two books a week."
    sha = hashlib.sha256(data).hexdigest()
    key = records.uploads.receive(f"policy-{sha[:12]}", "policy.txt", sha, len(data), 1).key
    records.files.insert(key, State.STORED, type="document", mime="text/plain",
                         location=f"file:///objects/{sha[:2]}/{sha}")
    records.files.advance(key, State.DESCRIBED, description="plain text, 7 words",
                          text=data.decode(), details={"words": 7, "language": "en"})
    return records.files.advance(key, State.DONE)


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _shout(record: Record) -> str:
    return record.name.upper()


@pytest.fixture()
def shout(monkeypatch: pytest.MonkeyPatch) -> Field:
    """A new field, added to the list only."""
    added = Field("shout", "the name in capitals", _shout)
    monkeypatch.setattr(record_fields, "FIELDS", (*record_fields.FIELDS, added))
    return added


def test_records_and_show_give_the_same_fields(record: Record) -> None:
    assert list(record.as_json()) == STORED
    listed, = json.loads(_cli("records", "--json"))
    shown = json.loads(_cli("show", "--json", record.key))
    found, = json.loads(_cli("search", "--json", "lending"))
    # A search hit is the record's object, then the passage that matched and where it is.
    hit = {"place": "words 1–7", "passage": "The lending policy: two books a week.",
           "page": None, "start_s": None, "end_s": None}
    assert listed == shown == {k: v for k, v in found.items() if k not in [*hit, "score"]}
    assert list(found) == [*listed, *hit, "score"]
    assert {k: found[k] for k in hit} == hit and found["score"] > 0
    assert list(shown) == [*STORED, "quarantine"]
    assert shown["mime"] == "text/plain" and shown["created_at"] and shown["quarantine"] is None


def test_the_frame_has_a_column_per_field(record: Record) -> None:
    frame = frames.frame([record])
    assert list(frame.columns) == [f.name for f in record_fields.FIELDS]
    assert list(frame.columns) == list(frames.COLUMNS)
    row = frame.iloc[0]
    assert row["words"] == 7 and row["language"] == "en" and row["state"] == "done"
    assert frame["type"].dtype == frames.TYPES and frame["size"].dtype == "Int64"


def test_show_lists_every_field_but_details_and_text(record: Record) -> None:
    shown = _cli("show", record.key)
    labelled = {line.split()[0] for line in shown.split("-- details --")[0].splitlines()[1:]}
    assert labelled == {"key", "uuid", "name", "type", "state", "mime", "size", "description",
                        "object", "sha256", "registered", "changed"}
    assert "-- text --" in shown and "-- details --" in shown


def test_the_json_help_names_every_field() -> None:
    for command in ("records", "search", "show"):
        said = " ".join(_cli(command, "--help").split())
        assert all(name in said for name in STORED), command
    explained = _cli("show", "--help").split("Fields of --json:")[1]
    for field in record_fields.FIELDS:
        assert (f"  {field.name} " in explained) is not field.lifted, field.name
        assert (field.help in explained) is not field.lifted, field.name


def test_a_new_field_appears_everywhere(record: Record, shout: Field) -> None:
    assert record.as_json()["shout"] == "POLICY.TXT"
    assert json.loads(_cli("records", "--json"))[0]["shout"] == "POLICY.TXT"
    assert json.loads(_cli("show", "--json", record.key))["shout"] == "POLICY.TXT"
    assert "shout        POLICY.TXT" in _cli("show", record.key)
    frame = frames.frame([record])
    assert frame.columns[-1] == "shout" and frame["shout"].dtype == "string"
    assert frame["shout"][0] == "POLICY.TXT"
    from fileproc_dagster.app.cli.show import fields_help, json_help

    assert "shout" in json_help("One JSON object")
    assert re.search(r"^  shout +the name in capitals$", fields_help(), re.M)


def test_a_field_lifted_from_details_is_a_column_only(record: Record,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    lifted = Field("source_words", "words the details count", lambda r: (r.details or {})
                   .get("words"), "integer", lifted=True)
    monkeypatch.setattr(record_fields, "FIELDS", (*record_fields.FIELDS, lifted))
    assert "source_words" not in record.as_json()
    assert "source_words" not in json.loads(_cli("show", "--json", record.key))
    assert frames.frame([record])["source_words"].tolist() == [7]
