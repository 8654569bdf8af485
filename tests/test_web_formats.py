"""Web and data formats on generated files: detection by content, reading, hostile input.

Every hostile case ends in a clear BadInput or a bounded partial reading, quickly, and
without a single network connection.
"""

from __future__ import annotations

import json
import socket
import time
import zipfile
from pathlib import Path

import pytest

from fileproc_dagster.describe import describe
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import Description, ExtractOptions
from fileproc_dagster.describe.web.data import describe_yaml
from fileproc_dagster.errors import BadInput

OPTIONS = ExtractOptions()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a reader tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _read(path: Path) -> tuple[str, Description]:
    detection = detect(path, OPTIONS)
    return detection.mime, describe(path, detection, OPTIONS)


def _refused(path: Path, match: str) -> BadInput:
    started = time.monotonic()
    with pytest.raises(BadInput, match=match) as caught:
        _read(path)
    assert time.monotonic() - started < 10
    return caught.value


ARTICLE = """<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">
<title>Der Ruderclub am Fluss</title><meta name="author" content="Anna Berg"></head><body>
<nav><ul><li><a href="/">Startseite</a></li><li><a href="/kontakt">Kontaktformular</a></li>
<li><a href="/impressum">Impressum und Datenschutz</a></li></ul></nav>
<main><article><h1>Der Ruderclub am Fluss</h1>
<p>Der Ruderclub trifft sich jeden Dienstag am Bootshaus, um die Boote für die Saison
vorzubereiten. Neue Mitglieder sind herzlich willkommen und bekommen eine Einführung.</p>
<h2>Trainingszeiten</h2>
<ul><li>Dienstag ab achtzehn Uhr am Bootshaus</li><li>Samstag ab neun Uhr am Steg</li></ul>
<table><tr><th>Boot</th><th>Plätze</th></tr><tr><td>Achter</td><td>9</td></tr>
<tr><td>Einer</td><td>1</td></tr></table>
<p>Im Winter trainieren die Mannschaften an den Ergometern in der Halle der Schule, und im
Frühjahr beginnt die Regattasaison mit dem Anrudern auf dem Fluss vor der Stadt.</p>
</article></main>
<footer><p>Copyright Ruderclub Fußzeilenverein, alle Rechte vorbehalten</p></footer>
</body></html>"""


def test_a_web_page_gives_its_main_text_as_markdown_with_tables(tmp_path: Path) -> None:
    mime, page = _read(_write(tmp_path, "club.html", ARTICLE))
    assert mime == "text/html"
    assert "jeden Dienstag am Bootshaus" in page.text
    for boilerplate in ("Kontaktformular", "Impressum und Datenschutz", "Fußzeilenverein"):
        assert boilerplate not in page.text
    assert "## Trainingszeiten" in page.markdown
    assert "- Dienstag ab achtzehn Uhr" in page.markdown
    assert page.tables[0].rows == [["Boot", "Plätze"], ["Achter", "9"], ["Einer", "1"]]
    properties = page.details["properties"]
    assert properties["title"] == "Der Ruderclub am Fluss"
    assert properties["language"] == "de"


def test_xhtml_served_as_xml_is_read_as_a_web_page(tmp_path: Path) -> None:
    xhtml = ('<?xml version="1.0" encoding="utf-8"?>\n'
             '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Minutes</title></head>'
             '<body><p>The harbour committee approved the new pontoon.</p></body></html>')
    mime, page = _read(_write(tmp_path, "minutes.xhtml", xhtml))
    assert mime == "application/xhtml+xml"
    assert "approved the new pontoon" in page.text


def test_a_page_that_is_mostly_scripts_keeps_only_its_words(tmp_path: Path) -> None:
    script = "<script>var tracker = 'SECRETTOKEN'; " + "x = x + 1; " * 200_000 + "</script>"
    html = (f"<html><head><title>Notice</title>{script}<style>p {{color: red}}</style></head>"
            f"<body>{script}<p>The pool is closed on Monday for cleaning.</p>{script}</body>"
            "</html>")
    _, page = _read(_write(tmp_path, "notice.html", html))
    assert "The pool is closed on Monday for cleaning." in page.text
    assert "SECRETTOKEN" not in page.text and "color: red" not in page.text


def test_a_page_in_a_broken_encoding_is_still_read(tmp_path: Path) -> None:
    data = ("<html><body><p>Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e served every "
            "afternoon in the garden room.</p></body></html>").encode("latin-1") + b"\xff\xfe\x81"
    _, page = _read(_write(tmp_path, "menu.html", data))
    assert "served every afternoon in the garden room" in page.text


def test_a_deeply_nested_page_is_read_without_crashing(tmp_path: Path) -> None:
    html = "<html><body>" + "<div>" * 100_000 + "<p>Deep words here</p>" + "</div>" * 100_000
    started = time.monotonic()
    _, page = _read(_write(tmp_path, "deep.html", html + "</body></html>"))
    assert time.monotonic() - started < 30
    assert isinstance(page.text, str)


MARKDOWN = """---
title: Rowing club handbook
author: Jo Keel
---
# Handbook

Welcome to the **rowing club**. See [the calendar](https://example.org/cal) for dates.

## Boats

| Boat | Seats |
|------|-------|
| Eight | 9 |
| Single | 1 |

- Always sign the logbook
- Wear a life jacket in winter
"""


def test_markdown_is_found_by_content_and_keeps_its_structure(tmp_path: Path) -> None:
    mime, read = _read(_write(tmp_path, "handbook.txt", MARKDOWN))
    assert mime == "text/markdown"
    assert read.markdown.startswith("---\ntitle:")
    assert "## Boats" in read.markdown
    assert "Welcome to the rowing club. See the calendar for dates." in read.text
    assert "**" not in read.text and "](" not in read.text
    assert read.tables[0].rows == [["Boat", "Seats"], ["Eight", "9"], ["Single", "1"]]
    assert read.details["properties"]["title"] == "Rowing club handbook"
    assert read.details["properties"]["author"] == "Jo Keel"


@pytest.mark.parametrize("text", [
    "Dear Sam,\n\nThe meeting is on Tuesday.\n- bring the minutes\n\nBest, Jo\n",
    "Notes: the fence needs paint.\nTodo: call the council about the bins.\n\nThat is all.\n",
    "# not a heading in a shell note\nexport PATH=/usr/bin\n",
])
def test_plain_text_stays_plain_text(tmp_path: Path, text: str) -> None:
    assert detect(_write(tmp_path, "note.txt", text), OPTIONS).mime == "text/plain"


def test_json_is_flattened_to_readable_lines_and_tables(tmp_path: Path) -> None:
    data = {"club": {"name": "River Rowers", "founded": 1887},
            "members": [{"name": "Ada", "role": "captain"}, {"name": "Ben", "role": "cox"}]}
    mime, read = _read(_write(tmp_path, "club.json", json.dumps(data)))
    assert mime == "application/json"
    assert "club.name: River Rowers" in read.text.splitlines()
    assert "members[2].role: cox" in read.text.splitlines()
    assert read.tables[0].rows == [["name", "role"], ["Ada", "captain"], ["Ben", "cox"]]


def test_yaml_is_found_by_content_and_loaded_safely(tmp_path: Path) -> None:
    config = "# boat store\nboats:\n  - name: Eight\n    seats: 9\nstore:\n  door: north side\n"
    mime, read = _read(_write(tmp_path, "store.txt", config))
    assert mime == "application/yaml"
    assert "store.door: north side" in read.text.splitlines()
    _, switches = _read(_write(tmp_path, "switches.yaml", "on: push\nlights: off\nok: true\n"))
    assert switches.text.splitlines() == ["on: push", "lights: off", "ok: true"]
    unsafe = "run: !!python/object/apply:os.system ['touch pwned']\nother: 1\n"
    unsafe_path = _write(tmp_path, "unsafe.yaml", unsafe)
    mime, read = _read(unsafe_path)  # not loadable safely: it stays plain text
    assert (mime, read.text.strip()) == ("text/plain", unsafe.strip())
    with pytest.raises(BadInput, match="not valid YAML"):
        describe_yaml(unsafe_path, "application/yaml", OPTIONS)
    assert not Path("pwned").exists()


def test_xml_is_an_outline_of_elements(tmp_path: Path) -> None:
    xml = ('<?xml version="1.0"?><catalog><book id="b1"><title>Tides and Currents</title>'
           '<price>12.50</price></book></catalog>')
    mime, read = _read(_write(tmp_path, "catalog.xml", xml))
    assert mime == "text/xml"
    assert read.text.splitlines() == ["catalog", "  book (id=b1)", "    title: Tides and Currents",
                                      "    price: 12.50"]


def test_svg_gives_its_text_elements_only(tmp_path: Path) -> None:
    svg = ('<svg xmlns="http://www.w3.org/2000/svg"><title>Site plan</title>'
           '<script>alert("SCRIPTWORD")</script><rect width="10" height="10"/>'
           '<text x="1" y="2">Boat <tspan>house</tspan></text>'
           '<image href="http://example.invalid/x.png"/></svg>')
    mime, read = _read(_write(tmp_path, "plan.svg", svg))
    assert mime == "image/svg+xml"
    assert read.text.splitlines() == ["Site plan", "Boat house"]
    assert read.details["properties"]["title"] == "Site plan"


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">'
                            .replace("&lol0;", "&lol;") for i in range(1, 10))
                  + ']><lolz>&lol9;</lolz>')
EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<r>&x;</r>')
EXTERNAL_URL = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "http://example.invalid/">]>'
                '<r>&x;</r>')


@pytest.mark.parametrize("name,document", [
    ("lolz.xml", BILLION_LAUGHS), ("passwd.xml", EXTERNAL), ("remote.xml", EXTERNAL_URL),
    ("lolz.svg", BILLION_LAUGHS.replace("lolz>", "svg>").replace("<lolz", "<svg")),
    ("passwd.svg", EXTERNAL.replace("<r>", '<svg xmlns="http://www.w3.org/2000/svg"><text>')
     .replace("</r>", "</text></svg>").replace(" r [", " svg [")),
])
def test_entity_declarations_are_refused(tmp_path: Path, name: str, document: str) -> None:
    error = _refused(_write(tmp_path, name, document), "entities or external references")
    assert error.verdict == "invalid"


def test_deep_json_is_refused_and_moderate_depth_is_capped(tmp_path: Path) -> None:
    _refused(_write(tmp_path, "deep.json", "[" * 200_000 + "]" * 200_000), "nested too deeply")
    nested = '{"a":' * 200 + '"bottom words"' + "}" * 200
    _, read = _read(_write(tmp_path, "nested.json", nested))
    assert "bottom words" in read.text
    assert max(line.count(".") for line in read.text.splitlines()) <= 32


def test_deep_xml_is_read_with_its_words_kept(tmp_path: Path) -> None:
    xml = "<a>" * 5_000 + "bottom words" + "</a>" * 5_000
    _, read = _read(_write(tmp_path, "deep.xml", xml))
    assert "bottom words" in read.text


def test_a_yaml_alias_bomb_is_cut_not_expanded(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    started = time.monotonic()
    _, read = _read(_write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n"))
    assert time.monotonic() - started < 30
    assert read.details["truncated"] is True
    assert len(read.text) <= 4_100_000


def test_a_huge_single_line_is_read_within_bounds(tmp_path: Path) -> None:
    line = json.dumps({"log": "word " * 2_000_000})
    started = time.monotonic()
    _, read = _read(_write(tmp_path, "line.json", line))
    assert time.monotonic() - started < 30
    assert read.text.startswith("log: word word")
    assert len(read.text) < 10_000


def test_broken_json_is_bad_input_or_plain_text(tmp_path: Path) -> None:
    _refused(_write(tmp_path, "bad.json", '{"a": [1, 2}'), "not valid JSON")
    mime, read = _read(_write(tmp_path, "cut.json", '{"a": [1, 2'))  # no longer JSON-shaped
    assert (mime, read.text) == ("text/plain", '{"a": [1, 2')


def _epub(path: Path, chapters: dict[str, str], *, spine: list[str] | None = None,
          extra: dict[str, bytes] | None = None, with_mimetype: bool = True) -> Path:
    spine = spine if spine is not None else list(chapters)
    items = "".join(f'<item id="c{i}" href="{name}" media-type="application/xhtml+xml"/>'
                    for i, name in enumerate(spine))
    refs = "".join(f'<itemref idref="c{i}"/>' for i in range(len(spine)))
    opf = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
           '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Tales of the '
           'River</dc:title><dc:creator>M. Brook</dc:creator><dc:language>en</dc:language>'
           f'</metadata><manifest>{items}</manifest><spine>{refs}</spine></package>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        if with_mimetype:
            book.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        book.writestr("META-INF/container.xml",
                      '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                      '<rootfiles><rootfile full-path="OEBPS/book.opf"/></rootfiles></container>')
        book.writestr("OEBPS/book.opf", opf)
        for name, body in chapters.items():
            book.writestr(f"OEBPS/{name}", f"<html><body>{body}</body></html>")
        for name, data in (extra or {}).items():
            book.writestr(name, data)
    return path


def test_an_epub_reads_its_chapters_in_spine_order(tmp_path: Path) -> None:
    chapters = {"two.xhtml": "<h1>Chapter Two</h1><p>The otter swam downstream at dawn.</p>",
                "one.xhtml": "<h1>Chapter One</h1><p>The heron waited by the weir.</p>"}
    book = _epub(tmp_path / "tales.epub", chapters, spine=["one.xhtml", "two.xhtml"])
    mime, read = _read(book)
    assert mime == "application/epub+zip"
    assert read.text.index("heron waited") < read.text.index("otter swam")
    assert read.details["properties"]["title"] == "Tales of the River"
    assert read.details["properties"]["author"] == "M. Brook"
    assert read.details["chapters"] == 2
    # Without the mimetype member libmagic calls it a zip; the container says otherwise.
    plain_zip = _epub(tmp_path / "tales2.epub", chapters, with_mimetype=False)
    assert detect(plain_zip, OPTIONS).mime == "application/epub+zip"


def test_hostile_epubs_are_refused(tmp_path: Path) -> None:
    outside = _epub(tmp_path / "out.epub", {"one.xhtml": "<p>x</p>"}, spine=["../../etc.xhtml"])
    _refused(outside, "points outside the book")
    bomb = _epub(tmp_path / "bomb.epub", {"one.xhtml": "<p>" + "a" * 50_000_000 + "</p>"})
    _refused(bomb, "decompression bomb")
    drm = _epub(tmp_path / "drm.epub", {"one.xhtml": "<p>locked</p>"}, extra={
        "META-INF/encryption.xml": b'<encryption xmlns:enc="http://www.w3.org/2001/04/xmlenc#">'
        b'<enc:EncryptedData><enc:CipherData><enc:CipherReference URI="OEBPS/one.xhtml"/>'
        b'</enc:CipherData></enc:EncryptedData></encryption>'})
    assert _refused(drm, "DRM-protected EPUB").verdict == "unsupported"
    empty = _epub(tmp_path / "empty.epub", {}, spine=[])
    _refused(empty, "no chapters")
