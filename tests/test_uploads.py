"""The upload directory: temporary names, stability, keys, safe moves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fileproc_dagster.errors import BadInput
from fileproc_dagster.intake.moves import copy_into
from fileproc_dagster.intake.names import partition_key, upload_path
from fileproc_dagster.intake.scan import is_temporary, list_entries, scan, settles_in

SHA = "0123456789abcdef" * 4


@pytest.mark.parametrize("name", [".hidden", "report.pdf.part", "x.tmp", "movie.crdownload",
                                  "draft.docx~", "A.PART"])
def test_temporary_names_are_ignored(name: str) -> None:
    assert is_temporary(name)


def test_listing_skips_temporaries_and_never_follows_links(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("x")
    (tmp_path / "partial.pdf.part").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "link.txt").symlink_to("/etc/hostname")
    listing = list_entries(tmp_path)
    assert set(listing) == {"ok.txt", "link.txt"}
    link = os.lstat(tmp_path / "link.txt")
    assert listing["link.txt"] == (link.st_size, link.st_mtime_ns,
                                   max(link.st_mtime_ns, link.st_ctime_ns))


@pytest.mark.parametrize("name", ["Résumé final (1).pdf", "a;rm -rf x$(id).png",
                                  "line\nbreak.txt", "x" * 300 + ".txt", "....", "日本語.txt"])
def test_partition_keys_are_safe_readable_and_short(name: str) -> None:
    key = partition_key(name, SHA)
    assert key.endswith("-0123456789ab")
    assert len(key) <= 53
    assert all(c.isalnum() or c in "-_" for c in key) and key.isascii()


def test_partition_key_keeps_the_stem() -> None:
    assert partition_key("Résumé final (1).pdf", SHA) == "Resume_final_1-0123456789ab"


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "", "..", "nul\0"])
def test_names_cannot_escape_the_upload_dir(tmp_path: Path, name: str) -> None:
    with pytest.raises(BadInput):
        upload_path(tmp_path, name)


def test_copy_into_is_atomic_and_never_overwrites(tmp_path: Path) -> None:
    source = tmp_path / "scan.png"
    source.write_bytes(b"one")
    uploads = tmp_path / "uploads"
    first = copy_into(source, uploads)
    second = copy_into(source, uploads)
    assert (first.name, second.name) == ("scan.png", "scan (1).png")
    assert sorted(os.listdir(uploads)) == ["scan (1).png", "scan.png"]


class TestScan:
    """One case per cursor state of the sensor's pure diff."""

    def test_new_file_waits_for_a_second_look(self) -> None:
        result = scan({}, {"a.pdf": (10, 1, 1)}, set())
        assert result.ready == [] and result.waiting == {"a.pdf": (10, 1, 1)}

    def test_stable_file_is_ready(self) -> None:
        result = scan({"a.pdf": (10, 1, 1)}, {"a.pdf": (10, 1, 1)}, set())
        assert result.ready == ["a.pdf"] and result.waiting == {}

    def test_growing_file_keeps_waiting(self) -> None:
        result = scan({"a.pdf": (10, 1, 1)}, {"a.pdf": (20, 2, 2)}, set())
        assert result.ready == [] and result.waiting == {"a.pdf": (20, 2, 2)}

    def test_registered_files_are_not_requested_again(self) -> None:
        result = scan({"a.pdf": (10, 1, 1)}, {"a.pdf": (10, 1, 1)}, {"a.pdf"})
        assert result.ready == [] and result.waiting == {}

    def test_vanished_files_are_forgotten(self) -> None:
        assert scan({"a.pdf": (10, 1, 1)}, {}, set()).waiting == {}

    def test_file_untouched_for_the_settle_time_is_ready_at_first_sight(self) -> None:
        second = 1_000_000_000
        listing = {"old.pdf": (10, 1, 5 * second), "fresh.pdf": (10, 1, 9 * second)}
        result = scan({}, listing, set(), now_ns=10 * second, settle_ns=2 * second)
        assert result.ready == ["old.pdf"] and result.waiting == {"fresh.pdf": listing["fresh.pdf"]}

    def test_copied_file_with_old_mtime_is_judged_by_its_change_time(self, tmp_path: Path) -> None:
        source = tmp_path / "kept-times.pdf"
        source.write_bytes(b"%PDF-1.4")
        os.utime(source, ns=(0, 0))  # like cp -p: an mtime from long ago, just written
        observation = list_entries(tmp_path)["kept-times.pdf"]
        assert observation[1] == 0 and observation[2] > 0
        result = scan({}, {"kept-times.pdf": observation}, set(), now_ns=observation[2],
                      settle_ns=2_000_000_000)
        assert result.ready == []

    def test_time_until_the_first_waiting_file_settles(self) -> None:
        second = 1_000_000_000
        waiting = {"a": (1, 1, 9 * second), "b": (1, 1, 8 * second), "c": (1, 1, 20 * second)}
        assert settles_in(waiting, 10 * second, 3 * second) == 1.0  # b, quiet for 2 s of 3
        assert settles_in({"c": waiting["c"]}, 10 * second, 3 * second) is None  # future time
        assert settles_in({}, 10 * second, 3 * second) is None

    def test_ten_thousand_seen_files_cost_nothing_to_carry(self) -> None:
        listing = {f"f{i}.txt": (i, i, i) for i in range(10_000)}
        result = scan({}, {**listing, "new.txt": (1, 1, 1)}, set(listing))
        assert result.waiting == {"new.txt": (1, 1, 1)} and result.ready == []
