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


# file: (MIME detected, phrases in the text, boilerplate never in the text, properties)
EXPECTED: dict[str, tuple[str, list[str], list[str], dict[str, str]]] = {
    "mozilla.org.firefox.developer.html": (
        "text/html",
        ["Welcome to Firefox Developer Edition", "Important: Sync your new profile",
         "Examine the HTML and CSS of any Web page", "Network Monitor", "Style Editor",
         "Features and tools"],
        ["Contact Us", "Partner with Us", "Report Trademark Abuse", "Other languages",
         "Portions of this content", "Twitter (@mozilla)", "Contribute to this site"],
        {"title": "Welcome to Firefox Developer Edition", "language": "en"}),
    "httpbin_sample.html": (
        "text/html",
        ["Perth, the begrimed, blistered old blacksmith",
         "the heavy beating of his hammer the heavy beating of his heart"],
        [], {"title": "Herman Melville - Moby-Dick"}),
    "apache.html": (
        "text/html",
        ["Server Version: Apache/2.4.7 (Ubuntu)", "Total Traffic: 29.1 MB", "Scoreboard Key"],
        [], {}),
    "trafilatura_CONTRIBUTING.md": (
        "text/markdown",
        ["Find bugs and submit bug reports", "Testing and evaluating the code",
         "Pull requests will only be accepted if the changes are tested"],
        ["](https://"], {"title": "How to contribute"}),
    "childrens-literature.epub": (
        "application/epub+zip",
        ["Through the Looking-Glass and What Alice Found", "Adventures of Pinocchio",
         "It contained seven windmills, a royal palace, a market place"],
        ["<p", "calibre"],
        {"title": "Children's Literature",
         "author": "Charles Madison Curry, Erle Elsworth Clippinger", "language": "en"}),
    "epubcheck_result_valid.json": (
        "application/json",
        ["publication.title: A Textbook of Sources for Teachers and Teacher-Training Classes",
         "checker.filename: childrens-literature.epub",
         "publication.creator[2]: Erle Elsworth Clippinger"],
        [], {}),
    "html2text_ci.yml": (
        "application/yaml",
        ["name: CI", "jobs.code-quality.runs-on: ubuntu-latest",
         "jobs.code-quality.strategy.matrix.toxenv[1]: black", "on.push.branches[1]: master"],
        [], {}),
    "sitemap.xml": (
        "text/xml", ["urlset", "loc: https://www.sitemaps.org/faq.html", "lastmod: 2016-11-21"],
        [], {}),
    "epubcheck_sample.xml": (
        "text/xml", ["Item id 'cover' was not found in the manifest", "status: Not well-formed"],
        [], {}),
    "arcs02.svg": (
        "image/svg+xml", ["Arc start", "Arc end", "large-arc-flag=0", "sweep-flag=1"],
        ["#888888", "translate("], {"title": "Example arcs02 - arc options in paths"}),
    "gradient_showcase.svg": (
        "image/svg+xml", ["horizontal 3-stop", "4-stop rainbow", "radial centred"],
        ["linearGradient", "stop-color"], {}),
}


def test_every_real_file_has_its_source_and_licence() -> None:
    sources = json.loads((HERE / "sources.json").read_text())
    assert sorted(s["file"] for s in sources) == sorted(
        p.name for p in HERE.iterdir() if p.name != "sources.json")
    for source in sources:
        assert all(source.get(k) for k in ("package", "version", "licence", "origin", "url"))
    assert set(EXPECTED) == {s["file"] for s in sources}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_is_read_with_its_phrases_and_without_boilerplate(name: str) -> None:
    mime, read = _read(name)
    expected_mime, phrases, boilerplate, properties = EXPECTED[name]
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
