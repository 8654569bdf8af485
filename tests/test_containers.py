"""Archives and mails: members unpacked within every limit (pure), then registered as uploads
of their own, each processed in its own partition and run, naming its parent."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import tarfile
import tempfile
import time
import zipfile
from email.message import EmailMessage
from pathlib import Path

import dagster as dg
import py7zr
import pytest
from click.testing import CliRunner
from daemon import venv_bin, with_tests_on_path

from fileproc_dagster.app.cli import cli
from fileproc_dagster.app.runner import process_paths
from fileproc_dagster.describe import describe
from fileproc_dagster.describe.containers import Limits, unpack
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import ExtractOptions, FileKind
from fileproc_dagster.errors import BadInput
from fileproc_dagster.hooks import NO_HOOKS
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.intake.moves import copy_into
from fileproc_dagster.notify import Notifier
from fileproc_dagster.pipeline import Pipeline
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.objects import LocalObjectStore
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State, UploadState
from support import faults
from support.samples import make_pdf

OPTIONS = ExtractOptions()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _unpack(path: Path, tmp: Path, limits: Limits | None = None) -> list[tuple[str, bytes]]:
    into = Path(tempfile.mkdtemp(dir=tmp))
    mime = detect(path, OPTIONS).mime
    return [(m.name, m.path.read_bytes()) for m in unpack(path, mime, into, limits).members]


def _refused(path: Path, tmp: Path, limits: Limits | None = None) -> str:
    with pytest.raises(BadInput) as caught:
        _unpack(path, tmp, limits)
    return caught.value.reason


# -- pure: formats and limits ------------------------------------------------------------

def test_zip_tar_gz_and_7z_are_archives_and_unpack(tmp_path: Path) -> None:
    _zip(tmp_path / "a.zip", {"docs/one.txt": b"first", "two.txt": b"second"})
    with tarfile.open(tmp_path / "b.tar.gz", "w:gz") as tar:
        for name, data in {"docs/one.txt": b"first", "two.txt": b"second"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with py7zr.SevenZipFile(tmp_path / "c.7z", "w") as seven:
        seven.writestr(b"first", "docs/one.txt")
        seven.writestr(b"second", "two.txt")
    for name in ("a.zip", "b.tar.gz", "c.7z"):
        assert detect(tmp_path / name, OPTIONS).kind is FileKind.ARCHIVE, name
        assert sorted(_unpack(tmp_path / name, tmp_path)) == [
            ("docs/one.txt", b"first"), ("two.txt", b"second")], name
    described = describe(tmp_path / "c.7z", detect(tmp_path / "c.7z", OPTIONS), OPTIONS)
    assert described.description == "7z archive, 2 members (11 bytes unpacked)"
    assert [m["name"] for m in described.details["members"]] == ["docs/one.txt", "two.txt"]


def test_a_zip_bomb_is_refused_by_its_ratio(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "backup.zip", {"zeros.bin": bytes(64 << 20)})
    assert bomb.stat().st_size < 200_000
    reason = _refused(bomb, tmp_path)
    assert "over 100 times its size" in reason and "decompression bomb" in reason
    assert "declares more than 1.0 MiB" in _refused(bomb, tmp_path, Limits(max_bytes=1 << 20))
    # A compressed file declares no size: its bytes are counted as they come.
    (tmp_path / "zeros.bin.gz").write_bytes(gzip.compress(bytes(64 << 20), 9))
    assert "unpacks to over 100 times its size" in _refused(tmp_path / "zeros.bin.gz", tmp_path)


@pytest.mark.parametrize("name", ["../escape.txt", "docs/../../escape.txt", "/etc/passwd",
                                  "C:\\Windows\\evil.txt", "..\\up.txt"])
def test_traversal_and_absolute_names_refuse_the_archive(tmp_path: Path, name: str) -> None:
    archive = _zip(tmp_path / "names.zip", {"fine.txt": b"ok", name: b"evil"})
    reason = _refused(archive, tmp_path)
    assert "path traversal" in reason and "not unpacked" in reason
    assert not (tmp_path / "escape.txt").exists()


def test_links_and_devices_in_a_tar_refuse_it(tmp_path: Path) -> None:
    for kind, what in ((tarfile.SYMTYPE, "is a link"), (tarfile.CHRTYPE, "is a device")):
        path = tmp_path / f"{kind!r}.tar"
        with tarfile.open(path, "w") as tar:
            data = b"plain"
            info = tarfile.TarInfo("plain.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            special = tarfile.TarInfo("special")
            special.type = kind
            special.linkname = "/etc/shadow"
            tar.addfile(special)
        assert what in _refused(path, tmp_path), kind


def test_encrypted_members_refuse_the_archive(tmp_path: Path) -> None:
    raw = bytearray(_zip(tmp_path / "plain.zip", {"secret.txt": b"classified"}).read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.index(signature) + flags_at
        raw[at] |= 0x1  # the "encrypted" bit, as a password-protected zip has it
    (tmp_path / "locked.zip").write_bytes(raw)
    assert "encrypted member 'secret.txt'" in _refused(tmp_path / "locked.zip", tmp_path)
    with py7zr.SevenZipFile(tmp_path / "locked.7z", "w", password="hunter2") as seven:
        seven.writestr(b"classified", "secret.txt")
    assert "encrypted 7z archive" in _refused(tmp_path / "locked.7z", tmp_path)


def test_duplicate_names_and_too_many_members(tmp_path: Path) -> None:
    twice = tmp_path / "twice.zip"
    with zipfile.ZipFile(twice, "w") as archive, pytest.warns(UserWarning):
        archive.writestr("report.txt", "first")
        archive.writestr("report.txt", "second")
    assert "two members are named 'report.txt'" in _refused(twice, tmp_path)
    many = _zip(tmp_path / "many.zip", {f"m{i:05d}.txt": b"x" for i in range(1001)})
    assert "more than 1000 members" in _refused(many, tmp_path)


def test_a_ten_thousand_member_archive_is_refused_without_unpacking(tmp_path: Path) -> None:
    many = _zip(tmp_path / "many.zip", {f"m{i:05d}.txt": b"x" for i in range(10_000)})
    started = time.monotonic()
    assert "more than 1000 members" in _refused(many, tmp_path)
    assert time.monotonic() - started < 30
    # Refused from the archive's directory: no member was written out.
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [many]


def test_a_mail_with_500_attachments_opens_into_500_members(tmp_path: Path) -> None:
    message = EmailMessage()
    message["From"] = "Clerk <clerk@example.org>"
    message["Subject"] = "Every receipt of the year"
    message.set_content("Receipts attached, one per purchase.")
    for i in range(500):
        message.add_attachment(f"receipt {i}: {i * 3} pounds".encode(), maintype="text",
                               subtype="plain", filename=f"receipt_{i:03d}.txt")
    mail = tmp_path / "receipts.eml"
    mail.write_bytes(bytes(message))
    members = _unpack(mail, tmp_path)
    assert len(members) == 500
    assert dict(members)["receipt_499.txt"] == b"receipt 499: 1497 pounds"
    described = describe(mail, detect(mail, OPTIONS), OPTIONS)
    assert len(described.details["members"]) == 500
    assert "Receipts attached" in described.text


def _mail(tmp_path: Path) -> Path:
    message = EmailMessage()
    message["From"] = "Ada Lovelace <ada@example.org>"
    message["To"] = "Charles Babbage <charles@example.org>"
    message["Subject"] = "Invoice for the analytical engine"
    message["Date"] = "Tue, 04 Mar 2025 10:15:00 +0000"
    message.set_content("<html><head><style>p {color: red}</style></head><body>"
                        "<p>Dear Charles,</p><p>please find the <b>invoice</b> attached.</p>"
                        "<script>alert(1)</script></body></html>", subtype="html")
    pdf = make_pdf(tmp_path / "invoice.pdf", "Invoice 4711\nBrass gears, twelve dozen")
    message.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf",
                           filename="invoice.pdf")
    path = tmp_path / "invoice.eml"
    path.write_bytes(bytes(message))
    return path


def test_an_eml_gives_headers_text_and_its_attachment(tmp_path: Path) -> None:
    mail = _mail(tmp_path)
    detection = detect(mail, OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.DOCUMENT, "message/rfc822")
    described = describe(mail, detection, OPTIONS)
    assert described.details["headers"]["subject"] == "Invoice for the analytical engine"
    assert described.details["headers"]["from"] == "Ada Lovelace <ada@example.org>"
    assert described.details["properties"]["author"] == "Ada Lovelace <ada@example.org>"
    assert "please find the invoice attached." in described.text
    assert "alert" not in described.text and "color" not in described.text
    assert [m["name"] for m in described.details["members"]] == ["invoice.pdf"]


# -- end to end: members become partitions of their own ----------------------------------

def _nested(tmp_path: Path, depth: int) -> Path:
    inner = b"the innermost text"
    name = "inner.txt"
    for level in range(depth, 0, -1):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(name, inner)
        inner, name = buffer.getvalue(), f"level{level}.zip"
    path = tmp_path / name
    path.write_bytes(inner)
    return path


def test_members_are_processed_once_and_nesting_stops_at_three(settings: Settings,
                                                                tmp_path: Path) -> None:
    nested = _nested(tmp_path, 4)  # level1.zip > level2.zip > level3.zip > level4.zip
    with dg.instance_for_test() as instance:
        outcomes = list(process_paths(settings, [nested], instance=instance))
    records = Records(settings.db_url)
    by_name = {o.record.name: o.record for o in outcomes if o.record}
    assert [o.path.name for o in outcomes] == ["level1.zip", "level2.zip", "level3.zip",
                                               "level4.zip"]
    level1, level2, level3, level4 = (by_name[f"level{n}.zip"] for n in range(1, 5))
    assert level1.state is State.DONE and level1.type == "archive"
    assert level1.parent_key is None and level2.parent_key == level1.key
    assert (level2.state, level3.state) == (State.DONE, State.DONE)
    assert level3.parent_key == level2.key
    assert level4.state is State.QUARANTINED and level4.parent_key == level3.key
    assert level4.error == "archive nested 4 levels deep (the limit is 3): not unpacked"
    assert records.uploads.members(level4.key) == []
    assert [(c.name, c.state) for c in records.files.children(level3.key)] == [
        ("level4.zip", State.QUARANTINED)]
    # Nothing is lost: the quarantined member's bytes are kept in the store.
    assert Path(level4.location.removeprefix("file://")).exists()


def test_an_archive_and_a_mail_through_process(settings: Settings, tmp_path: Path) -> None:
    bundle = _zip(tmp_path / "bundle.zip", {"notes/a.txt": b"alpha words for the archive",
                                            "b.txt": b"alpha words for the archive",
                                            "mail/invoice.eml": _mail(tmp_path).read_bytes()})
    with dg.instance_for_test() as instance:
        outcomes = list(process_paths(settings, [bundle], instance=instance))
        again = list(process_paths(settings, [bundle], instance=instance))
    records = Records(settings.db_url)
    parent = outcomes[0].record
    assert parent is not None and parent.state is State.DONE
    assert [m["name"] for m in parent.details["members"]] == ["notes/a.txt", "b.txt",
                                                              "mail/invoice.eml"]
    children = records.files.children(parent.key)
    # Identical content is one record: b.txt is a duplicate of notes/a.txt.
    assert [c.name for c in children] == ["notes/a.txt", "b.txt", "mail/invoice.eml"]
    assert children[0].key == children[1].key
    assert {c.state for c in children} == {State.DONE}
    mail = records.files.get(children[2].key)
    assert mail is not None and mail.parent_key == parent.key
    assert mail.details["headers"]["to"] == "Charles Babbage <charles@example.org>"
    pdf, = records.files.children(mail.key)
    invoice = records.files.get(pdf.key)
    assert invoice is not None and invoice.state is State.DONE and invoice.type == "document"
    assert invoice.parent_key == mail.key and "Brass gears" in (invoice.text or "")
    # Every record once, every member upload handled; the second call adds nothing.
    assert len(records.files.all()) == 4
    assert {u.state for u in records.uploads.members(parent.key)} == {UploadState.DELETED}
    assert [o.duplicate for o in again] == [True]
    outbox = [json.loads(line) for line in settings.outbox.read_text().splitlines()]
    processed = [m for m in outbox if m["event"] == "processed"]
    assert len(processed) == 4
    # The CLI says each child's parent, and the parent lists its children.
    listed = CliRunner().invoke(cli, ["records", "--json"])
    assert listed.exit_code == 0, listed.output
    parents = {r["name"]: r["parent_key"] for r in json.loads(listed.output)}
    assert parents["invoice.pdf"] == mail.key and parents["bundle.zip"] is None
    shown = CliRunner().invoke(cli, ["show", parent.key])
    assert shown.exit_code == 0, shown.output
    assert "mail/invoice.eml" in shown.output and "done" in shown.output
    shown = CliRunner().invoke(cli, ["show", invoice.key])
    assert "parent" in shown.output and mail.key in shown.output


def test_killed_after_a_member_registers_each_once(settings: Settings, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:

    bundle = _zip(tmp_path / "crash.zip", {f"m{i}.txt": f"member {i}".encode() for i in range(4)})
    records = Records(settings.db_url)
    copied = copy_into(bundle, settings.upload_dir)
    key = receive(settings.upload_dir, copied.name, records, origin="process").key
    marks = tmp_path / "marks"
    script = (
        "import sys; from pathlib import Path; from support import faults\n"
        "from fileproc_dagster.settings import Settings\n"
        "from fileproc_dagster.pipeline import Pipeline\n"
        "from fileproc_dagster.storage.records import Records\n"
        "from fileproc_dagster.storage.objects import LocalObjectStore\n"
        "from fileproc_dagster.notify import Notifier\n"
        "from fileproc_dagster.describe.model import ExtractOptions\n"
        "s = Settings.from_env(); r = Records(s.db_url)\n"
        "p = Pipeline(r, s.upload_dir, s.quarantine_dir, Notifier(s.outbox),"
        " faults.from_env(), LocalObjectStore(s.store_dir))\n"
        "key = sys.argv[1]; p.store_file(key); p.record_file(key, ExtractOptions())\n"
        "p.describe_file(key, ExtractOptions(), 120)\n")
    monkeypatch.setenv(faults.FAULTS_VAR, "after_member=m1.txt")
    monkeypatch.setenv(faults.FAULTS_DIR_VAR, str(marks))
    env = with_tests_on_path(os.environ)
    killed = subprocess.run([venv_bin("python"), "-c", script, key], env=env, timeout=300)
    assert killed.returncode == -9
    assert [u.name for u in records.uploads.members(key)] == ["m0.txt", "m1.txt"]
    monkeypatch.delenv(faults.FAULTS_VAR)
    files = Pipeline(records, settings.upload_dir, settings.quarantine_dir,
                     Notifier(settings.outbox), NO_HOOKS, LocalObjectStore(settings.store_dir))
    record, _ = files.describe_file(key, OPTIONS, 120)
    assert record.state is State.DESCRIBED
    members = records.uploads.members(key)
    assert [u.name for u in members] == ["m0.txt", "m1.txt", "m2.txt", "m3.txt"]
    assert not any(u.duplicate for u in members)
    assert len({u.key for u in members}) == 4


# -- real messages made by others (tests/realworld/mail/sources.json) ----------------------

REALWORLD = Path(__file__).parent / "realworld" / "mail"


def test_real_outlook_messages_are_read() -> None:
    sources = json.loads((REALWORLD / "sources.json").read_text())
    assert {s["file"] for s in sources} == {p.name for p in REALWORLD.glob("*.msg")}
    notice = REALWORLD / "other.msg"
    detection = detect(notice, OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.DOCUMENT, "application/vnd.ms-outlook")
    described = describe(notice, detection, OPTIONS)
    headers = described.details["headers"]
    assert headers["subject"] == "投递状态通知 (Failure Notice)"
    assert headers["from"] == "Mail Delivery Subsystem"
    assert headers["date"] == "2017-11-27T09:44:30+00:00"
    phrases = {s["file"]: s["phrases"] for s in sources}  # also scored by benchmarks.formats
    assert phrases["other.msg"] and all(p in described.text for p in phrases["other.msg"])
    outer = describe(REALWORLD / "outer.msg", detect(REALWORLD / "outer.msg", OPTIONS), OPTIONS)
    assert outer.details["headers"]["subject"] == "outer subject"
    assert phrases["outer.msg"] and all(p in outer.text for p in phrases["outer.msg"])
