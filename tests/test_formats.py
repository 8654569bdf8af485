"""The format registry: one entry per format, read by detection, describe(), the pool's
ordering, the has_text check and the CLI; a new format needs nothing else."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from fileproc_dagster.app.cli import cli
from fileproc_dagster.describe import describe, formats
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import Description, ExtractOptions, FileKind
from fileproc_dagster.errors import BadInput

RTF = b"{\\rtf1\\ansi{\\fonttbl\\f0 Times;}\\f0 Quarterly minutes of the rowing club\\par}"


def read_rtf_words(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A reader as a format module would write it (here: the words between the braces)."""
    words = [w for w in path.read_text().replace("\\par", " ").split() if w[0].isalpha()]
    return Description(description=f"RTF, {len(words)} words", text=" ".join(words))


def test_every_reader_and_probe_imports() -> None:
    for entry in formats.FORMATS:
        assert bool(entry.reader) != bool(entry.unsupported), entry.name
        if entry.reader:
            assert callable(entry.read()), entry.name
        if entry.probe:
            assert callable(entry.check()), entry.name


def test_an_exact_type_comes_before_a_family() -> None:
    assert formats.for_mime("image/svg+xml").name == "SVG drawing"  # not the picture family
    assert formats.for_mime("image/png", FileKind.DOCUMENT).name == "Page image"
    assert formats.for_mime("image/png", FileKind.IMAGE).name == "Photo"
    assert formats.for_mime("text/html", FileKind.DOCUMENT).name == "Web page"  # not "text/*"
    assert formats.for_mime("application/x-unknown") is None


def test_a_new_format_is_one_registry_entry(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    memo = tmp_path / "memo.rtf"
    memo.write_bytes(RTF)
    monkeypatch.setattr(formats, "FORMATS", tuple(
        formats._refused("RTF document", ("text/rtf",), "RTF documents are not supported")
        if f.name == "RTF document" else f for f in formats.FORMATS))
    with pytest.raises(BadInput, match="RTF documents are not supported"):
        detect(memo)
    entry = formats.Format("RTF document", FileKind.DOCUMENT, ("text/rtf", "application/rtf"),
                           (".rtf",), reader=f"{__name__}:read_rtf_words")
    monkeypatch.setattr(formats, "FORMATS", tuple(
        entry if f.name == "RTF document" else f for f in formats.FORMATS))

    detection = detect(memo)
    assert (detection.kind, detection.mime) == (FileKind.DOCUMENT, "text/rtf")
    assert "named" not in detection.reason  # the name agrees with the content
    described = describe(memo, detection, ExtractOptions())
    assert "Quarterly minutes of the rowing club" in described.text
    assert formats.text_expected("document", "text/rtf")
    assert formats.expected_seconds(FileKind.DOCUMENT, "text/rtf", len(RTF)) < 0.1
    assert any(row["format"] == "RTF document" and row["read as"].startswith("document")
               for row in formats.rows())

    cheaper = replace(entry, cost=formats.Cost(7.0))
    monkeypatch.setattr(formats, "FORMATS", (cheaper, *formats.FORMATS))
    assert formats.expected_seconds(FileKind.DOCUMENT, "text/rtf", 1) == 7.0


def test_has_text_follows_the_registry() -> None:
    assert formats.text_expected("document", "application/pdf")
    assert formats.text_expected("audio", "audio/mpeg")
    assert not formats.text_expected("image", "image/jpeg")


def test_the_cli_lists_the_registry() -> None:
    result = CliRunner().invoke(cli, ["formats", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == formats.rows()
    assert [str(k) for k in FileKind] == formats.kinds()
