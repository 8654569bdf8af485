"""Prometheus metrics: the counting queries, the directory census, and the server as
Prometheus scrapes it (in this process and through ``fileproc metrics``)."""

from __future__ import annotations

from pathlib import Path

from fileproc_dagster.intake.census import quarantine_usage, unregistered
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State


# -- the counting queries, on SQLite and PostgreSQL ----------------------------------------

def test_counts_owed_and_processing_times(records: Records) -> None:
    for n, name in enumerate(["a.txt", "b.txt", "c.pdf", "d.png"]):
        records.uploads.receive(f"k{n}", name, f"{n:064x}", 10, n)
    for key in ("k0", "k1"):
        records.files.set_object(key, type="document", mime="text/plain", location="x")
        for state in (State.STORED, State.DESCRIBED, State.DONE):
            records.files.advance(key, state)
    records.files.fail("k2", "empty file (0 bytes)", state=State.QUARANTINED)
    assert records.files.counts() == {(State.DONE, "document"): 2,
                                      (State.QUARANTINED, None): 1, (State.RECEIVED, None): 1}
    assert records.uploads.pending_count() == 4  # nothing moved or deleted them here
    times = records.files.processing_times()
    assert [kind for kind, _ in times] == ["document", "document"]
    assert all(0 <= seconds < 60 for _, seconds in times)
    assert len(records.files.processing_times(limit=1)) == 1
    assert records.ledger.owed() == 0
    records.ledger.claim("k0", "processed", "Processed a.txt")
    records.ledger.claim("k1", "processed", "Processed b.txt")
    records.ledger.mark_sent("k0", "processed")
    assert records.ledger.owed() == 1


def test_census_of_the_upload_and_quarantine_directories(tmp_path: Path) -> None:
    uploads, quarantine = tmp_path / "uploads", tmp_path / "quarantine"
    assert unregistered(uploads, set()) == 0 and quarantine_usage(quarantine).entries == 0
    uploads.mkdir()
    for name in ("new.pdf", "registered.pdf", "big.iso.part", ".hidden"):
        (uploads / name).write_bytes(b"x")
    assert unregistered(uploads, {"registered.pdf"}) == 1  # temporary names are not uploads
    (quarantine / "empty-e3b0c44298fc").mkdir(parents=True)
    (quarantine / "empty-e3b0c44298fc" / "empty.pdf").write_bytes(b"")
    (quarantine / "link-0123456789ab").mkdir()
    (quarantine / "link-0123456789ab" / "link").symlink_to("/etc/passwd")
    (quarantine / "bomb-0123456789ab").mkdir()
    (quarantine / "bomb-0123456789ab" / "bomb.png").write_bytes(b"y" * 1000)
    usage = quarantine_usage(quarantine)
    assert (usage.entries, usage.bytes) == (3, 1000)  # a link is counted, never followed
