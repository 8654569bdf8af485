"""Web and data formats on real files made by others (tests/realworld/web, see sources.json).

Phrases read by eye must be found; the menus and footers of a page must not be in its text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fileproc_dagster.describe import describe
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import Description, ExtractOptions

HERE = Path(__file__).parent / "realworld" / "web"


def _read(name: str) -> tuple[str, Description]:
    detection = detect(HERE / name, ExtractOptions())
    return detection.mime, describe(HERE / name, detection, ExtractOptions())


SOURCES = json.loads((HERE / "sources.json").read_text())
# The phrases read by eye, kept with each file's source (benchmarks.formats scores them too).
PHRASES: dict[str, list[str]] = {s["file"]: s["phrases"] for s in SOURCES}

# file: (MIME detected, boilerplate never in the text, properties)
EXPECTED: dict[str, tuple[str, list[str], dict[str, str]]] = {
    "mozilla.org.firefox.developer.html": (
        "text/html",
        ["Contact Us", "Partner with Us", "Report Trademark Abuse", "Other languages",
         "Portions of this content", "Twitter (@mozilla)", "Contribute to this site"],
        {"title": "Welcome to Firefox Developer Edition", "language": "en"}),
    "httpbin_sample.html": ("text/html", [], {"title": "Herman Melville - Moby-Dick"}),
    "apache.html": ("text/html", [], {}),
    "trafilatura_CONTRIBUTING.md": ("text/markdown", ["](https://"],
                                    {"title": "How to contribute"}),
    "childrens-literature.epub": (
        "application/epub+zip", ["<p", "calibre"],
        {"title": "Children's Literature",
         "author": "Charles Madison Curry, Erle Elsworth Clippinger", "language": "en"}),
    "epubcheck_result_valid.json": ("application/json", [], {}),
    "html2text_ci.yml": ("application/yaml", [], {}),
    "sitemap.xml": ("text/xml", [], {}),
    "epubcheck_sample.xml": ("text/xml", [], {}),
    "arcs02.svg": ("image/svg+xml", ["#888888", "translate("],
                   {"title": "Example arcs02 - arc options in paths"}),
    "gradient_showcase.svg": ("image/svg+xml", ["linearGradient", "stop-color"], {}),
}


def test_every_real_file_has_its_source_and_licence() -> None:
    assert sorted(s["file"] for s in SOURCES) == sorted(
        p.name for p in HERE.iterdir() if p.name != "sources.json")
    for source in SOURCES:
        assert all(source.get(k) for k in ("package", "version", "licence", "origin", "url",
                                           "phrases"))
    assert set(EXPECTED) == {s["file"] for s in SOURCES}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_is_read_with_its_phrases_and_without_boilerplate(name: str) -> None:
    mime, read = _read(name)
    expected_mime, boilerplate, properties = EXPECTED[name]
    phrases = PHRASES[name]
    assert mime == expected_mime
    flat = " ".join(read.text.split())
    lines = read.text.splitlines()
    missing = [p for p in phrases if p not in flat and p not in lines]
    leaked = [b for b in boilerplate if b in read.text]
    assert (missing, leaked) == ([], [])
    for key, value in properties.items():
        assert read.details["properties"][key] == value


def test_structure_of_real_files_is_kept() -> None:
    _, status = _read("apache.html")
    assert status.tables[0].rows[0][:3] == ["Srv", "PID", "Acc"]
    assert len(status.tables[0].rows) > 10
    _, page = _read("mozilla.org.firefox.developer.html")
    assert page.markdown.startswith("# Welcome to Firefox Developer Edition")
    assert "## Features and tools" in page.markdown
    _, contributing = _read("trafilatura_CONTRIBUTING.md")
    assert "## Testing and evaluating the code" in contributing.markdown
    _, book = _read("childrens-literature.epub")
    assert "SECTION IV" in book.markdown
