"""Office readers on files made by the formats' own writers: structure, properties, and every
hostile case ending in BadInput with a reason (never a crash or a hang)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fileproc_dagster.describe import describe
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import (
    DOCX_MIME,
    XLSX_MIME,
    Description,
    ExtractOptions,
    FileKind,
)
from fileproc_dagster.describe.office import delimited, sheets
from fileproc_dagster.describe.office.rtf import describe_rtf
from fileproc_dagster.describe.office.sheets import describe_spreadsheet
from fileproc_dagster.describe.office.word import describe_docx
from fileproc_dagster.errors import BadInput
from tests.support import office_files as make

OPTIONS = ExtractOptions()


def _read(path: Path) -> Description:
    return describe(path, detect(path, OPTIONS), OPTIONS)


def test_docx_keeps_structure_comments_and_headers_apart(tmp_path: Path) -> None:
    result = _read(make.docx(tmp_path / "minutes.docx"))
    assert result.markdown == (
        "# Spring meeting\n\nThe committee met in the potting shed.\n\n## Actions\n\n"
        "- Mend the water butt\n- Order seed potatoes\n1. Elect a treasurer\n\n"
        "| Plot | Holder |\n| --- | --- |\n| 12 | Mr Thornton |\n| 14 | Mrs Shaw |\n\n"
        "Next meeting in June.")
    assert [t.rows for t in result.tables] == [[["Plot", "Holder"], ["12", "Mr Thornton"],
                                                ["14", "Mrs Shaw"]]]
    assert result.details["comments"] == [{"author": "Bessy",
                                           "text": "Was it not the greenhouse?"}]
    assert result.details["headers"] == ["Allotment society - confidential"]
    assert result.details["footers"] == ["Printed on recycled paper"]
    assert "confidential" not in result.markdown  # the body is the body
    assert "Was it not the greenhouse?" in result.text  # but all of it is searchable
    properties = result.details["properties"]
    assert (properties["title"], properties["author"], properties["subject"]) == (
        "Allotment society minutes", "Margaret Hale", "Spring meeting")
    assert result.details["pages"] == 1
    assert result.description.startswith("Word document, 1 page, ")


def test_workbook_sheets_are_tables(tmp_path: Path) -> None:
    result = _read(make.xlsx(tmp_path / "harvest.xlsx"))
    assert [(t.name, t.rows) for t in result.tables] == [
        ("Crops", [["Crop", "Kilos"], ["Leeks", "14"], ["Runner beans", "22.5"]]),
        ("Bees", [["Hive", "Jars"], ["North hive", "31"]])]
    assert "## Bees\n\n| Hive | Jars |\n| --- | --- |\n| North hive | 31 |" in result.markdown
    assert "Runner beans\t22.5" in result.text
    assert result.details["sheets"] == 2
    assert result.details["properties"]["title"] == "Harvest tally"
    assert result.details["properties"]["author"] == "Nicholas Higgins"


def test_a_long_sheet_is_cut_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheets, "MAX_ROWS", 100)
    result = _read(make.xlsx(tmp_path / "log.xlsx", rows=250))
    log = next(t for t in result.tables if t.name == "Log")
    assert len(log.rows) == 100 and log.rows[-1] == ["entry 99", "99"]
    assert result.details["truncated"] == ["sheet 'Log': first 100 of 250 rows kept"]


def test_a_sheet_spanning_billions_of_cells_is_refused(tmp_path: Path) -> None:
    path = make.sparse_xlsx(tmp_path / "far.xlsx")
    with pytest.raises(BadInput, match="spans 17,179,869,184 cells") as caught:
        _read(path)
    assert caught.value.verdict == "invalid"


def test_an_ods_spanning_millions_of_repeated_cells_is_refused(tmp_path: Path) -> None:
    source = make.ods(tmp_path / "plain.ods")
    with zipfile.ZipFile(source) as archive:
        content = archive.read("content.xml")
    repeated = (b'<table:table-row table:number-rows-repeated="1000000"><table:table-cell '
                b'table:number-columns-repeated="1000" office:value-type="float" '
                b'office:value="1"/></table:table-row></table:table>')
    bomb = make.rewrite_member(source, tmp_path / "repeat.ods", "content.xml",
                               content.replace(b"</table:table>", repeated, 1))
    with pytest.raises(BadInput, match="spans 1,000,00[0-9],[0-9]{3} cells"):
        _read(bomb)


def test_pptx_slides_titles_tables_and_notes(tmp_path: Path) -> None:
    result = _read(make.pptx(tmp_path / "mill.pptx"))
    assert result.details["slides"] == 2
    assert result.details["slide_titles"] == ["Cotton prices", "Output by mill"]
    assert result.markdown.startswith(
        "<!-- slide 1 -->\n\n# Cotton prices\n\n- Prices rose in March\n- Exports held steady"
        "\n\n### Notes\n\nMention the strike in Milton\n\n<!-- slide 2 -->\n\n# Output by mill")
    assert [t.rows for t in result.tables] == [[["Mill", "Bales"], ["Marlborough", "120"],
                                                ["Hamper's", "95"]]]
    assert result.details["properties"]["author"] == "John Thornton"


def test_odt_headings_lists_tables(tmp_path: Path) -> None:
    result = _read(make.odt(tmp_path / "rota.odt"))
    assert result.markdown == (
        "# Choir rota\n\nRehearsals are on Thursday evenings.\n\n"
        "- Sopranos bring music stands\n- Tenors open the hall\n\n"
        "| Week | Reader |\n| --- | --- |\n| 1 | Dixon |\n| 2 | Boucher |")
    assert [(t.name, t.rows[-1]) for t in result.tables] == [("Rota", ["2", "Boucher"])]
    assert result.details["properties"]["title"] == "Choir rota"


def test_odp_slides_and_notes(tmp_path: Path) -> None:
    result = _read(make.odp(tmp_path / "festival.odp"))
    assert result.details["slides"] == 2
    assert result.markdown == ("<!-- slide 1 -->\n\n# Harvest festival\n\nTables in the nave"
                               "\n\n### Notes\n\nAsk the vicar\n\n<!-- slide 2 -->\n\n"
                               "# Bring and buy\n\nCakes by the door")


def test_ods_sheet(tmp_path: Path) -> None:
    result = _read(make.ods(tmp_path / "subs.ods"))
    assert [(t.name, t.rows) for t in result.tables] == [
        ("Subscriptions", [["Member", "Paid"], ["Higgins", "12"], ["Boucher", "8"]])]


RTF = (rb"{\rtf1\ansi{\fonttbl\f0 Times;}{\info{\title Vestry minutes}{\author Mr Hale}"
       rb"{\creatim\yr2024\mo3\dy5\hr10\min30}}\f0 The vestry met on Tuesday.\par "
       rb"The roof fund stands at \'a3300.\par}")


def test_rtf_text_and_properties(tmp_path: Path) -> None:
    path = tmp_path / "vestry.rtf"
    path.write_bytes(RTF)
    result = _read(path)
    assert result.text == "The vestry met on Tuesday.\nThe roof fund stands at £300."
    assert result.details["properties"] == {"title": "Vestry minutes", "author": "Mr Hale",
                                            "created": "2024-03-05T10:30:00"}


def test_deeply_nested_rtf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.rtf"
    path.write_bytes(b"{\\rtf1 " + b"{" * 50_000 + b"x" + b"}" * 50_000 + b"}")
    with pytest.raises(BadInput, match="nested 50001 deep"):
        describe_rtf(path, "text/rtf", OPTIONS)


@pytest.mark.parametrize(("name", "content", "delimiter", "rows"), [
    ("prices.csv", "item,price\ntea,2.40\n\"scones, plain\",1.10\n", ",",
     [["item", "price"], ["tea", "2.40"], ["scones, plain", "1.10"]]),
    ("prices.tsv", "item\tprice\ntea\t2.40\n", "\t", [["item", "price"], ["tea", "2.40"]]),
    ("prices.csv", "item;price\ntea;2,40\ncake;3,10\n", ";",
     [["item", "price"], ["tea", "2,40"], ["cake", "3,10"]]),
])
def test_delimited_text_is_a_table(tmp_path: Path, name: str, content: str, delimiter: str,
                                   rows: list[list[str]]) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = delimited.describe_delimited(path, "text/csv", OPTIONS)
    assert result.details["delimiter"] == delimiter
    assert result.tables[0].rows == rows
    assert "tea" in result.text and result.markdown.startswith("| item | price |")


def test_csv_is_its_own_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delimited, "MAX_ROWS", 3)
    path = tmp_path / "members.csv"
    path.write_text("name,town\n" + "".join(f"member {i},Milton\n" for i in range(10)))
    detection = detect(path, OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.DOCUMENT, "text/csv")
    result = _read(path)
    assert result.description.startswith("CSV table, 11 rows")
    assert len(result.tables[0].rows) == 3 and "member 9\tMilton" in result.text
    assert result.details["truncated"] == ["first 3 of 11 rows kept"]


@pytest.mark.parametrize("maker", [make.docx, make.xlsx, make.pptx, make.odt, make.ods],
                         ids=["docx", "xlsx", "pptx", "odt", "ods"])
def test_truncated_office_files_are_invalid(tmp_path: Path, maker: object) -> None:
    whole = maker(tmp_path / "whole")  # type: ignore[operator]
    cut = tmp_path / "cut"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    mime = detect(whole, OPTIONS).mime
    from fileproc_dagster.describe.formats import for_mime

    reader = for_mime(mime, FileKind.DOCUMENT).read()  # type: ignore[union-attr]
    with pytest.raises(BadInput, match="damaged|truncated") as caught:
        reader(cut, mime, OPTIONS)
    assert caught.value.verdict == "invalid"


def test_encrypted_office_files_are_refused(tmp_path: Path) -> None:
    locked = make.encrypt_ooxml(make.xlsx(tmp_path / "plain.xlsx"), tmp_path / "locked.xlsx")
    with pytest.raises(BadInput, match="encrypted Office document: a password") as caught:
        detect(locked, OPTIONS)
    assert caught.value.verdict == "unsupported"
    with pytest.raises(BadInput, match="encrypted spreadsheet"):
        describe_spreadsheet(locked, XLSX_MIME, OPTIONS)
    with pytest.raises(BadInput, match="encrypted Word document"):
        describe_docx(locked, DOCX_MIME, OPTIONS)


def test_a_zip_bomb_inside_a_docx_is_refused(tmp_path: Path) -> None:
    source = make.docx(tmp_path / "plain.docx")
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(source.read_bytes())
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/media/zeros.bin", bytes(40 * 2**20))
    with pytest.raises(BadInput, match="decompression bomb"):
        _read(bomb)


def test_entity_expansion_in_ooxml_is_refused(tmp_path: Path) -> None:
    source = make.docx(tmp_path / "plain.docx")
    attack = make.rewrite_member(source, tmp_path / "laughs.docx", "word/document.xml",
                                 make.LAUGHS)
    with pytest.raises(BadInput, match="declares a DTD or entities"):
        _read(attack)


def test_legacy_word_and_powerpoint_are_refused_with_a_reason() -> None:
    from fileproc_dagster.describe.formats import for_mime

    for mime in ("application/msword", "application/vnd.ms-powerpoint"):
        found = for_mime(mime)
        assert found is not None and "no well-kept library" in found.unsupported


def test_a_tsv_that_libmagic_calls_plain_text_is_a_table(tmp_path: Path) -> None:
    people = tmp_path / "people.tsv"
    people.write_text("name\tcity\tage\nAda\tLondon\t36\nAlan\tWilmslow\t41\n"
                      "Grace\tNew York\t85\n")
    detection = detect(people)
    assert detection.mime == "text/tab-separated-values"
    described = describe(people, detection, ExtractOptions())
    assert described.tables[0].rows[2] == ["Alan", "Wilmslow", "41"]
    prose = tmp_path / "prose.txt"
    prose.write_text("a line\nanother line\nand a third\nand a fourth\n")
    assert detect(prose).mime == "text/plain"
