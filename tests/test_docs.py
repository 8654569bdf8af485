"""The docs hold together: every relative link leads to a file (and heading) that exists, every
``FILEPROC_*`` variable they name is read by the code, and every variable the package reads is
in docs/configuration.md."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGES = sorted({REPO / "README.md", REPO / "BENCHMARKS.md", REPO / "benchmarks" / "README.md",
                *DOCS.glob("*.md")})

FENCE = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
VARIABLE = r"(?<![A-Za-z0-9_])FILEPROC_[A-Z0-9]+(?:_[A-Z0-9]+)*"
# How code reads a variable: a string literal naming it in Python ("FILEPROC_X"), an expansion
# in a shell script (${FILEPROC_X...} or $FILEPROC_X), ``env: FILEPROC_X`` in a YAML config.
PY_READ = re.compile(r"[\"'](" + VARIABLE + r")[\"']")
SHELL_READ = re.compile(r"\$\{?(" + VARIABLE + r")")
YAML_READ = re.compile(r"^\s*env:\s*(" + VARIABLE + r")\s*$", re.M)


def prose(page: Path) -> str:
    """A page without its fenced code blocks, where brackets are code, not links."""
    return FENCE.sub("", page.read_text(encoding="utf-8"))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: links reduced to their text, lower case, punctuation
    dropped (backticks, colons, dots, em dashes...), spaces made hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    """Every heading anchor of a page, repeats numbered as GitHub numbers them (-1, -2...)."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(prose(page)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]  # http:, https:, mailto:...


def test_the_slugs_are_githubs() -> None:
    assert slug("Image content: tags and faces") == "image-content-tags-and-faces"
    assert slug("What `deploy/dagster.yaml` sets") == "what-deploydagsteryaml-sets"
    assert slug("9. Round two: what changed, what still limits each row") == (
        "9-round-two-what-changed-what-still-limits-each-row")
    assert slug("Reference: run-per-file (`fc79d13`)") == "reference-run-per-file-fc79d13"
    assert slug("Monitoring: metrics and the health check") == (
        "monitoring-metrics-and-the-health-check")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    links = relative_links(page)
    assert links, f"{page.name} links nowhere: is the link pattern still right?"
    broken = []
    for target in links:
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading with that anchor in {destination.name}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_the_readme_links_every_docs_page() -> None:
    linked = {(REPO / target.partition("#")[0]).resolve()
              for target in relative_links(REPO / "README.md")}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"docs pages the README does not link: {missing}"


def test_the_readme_fits_on_a_few_screens() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"README.md has {lines} lines; move detail into docs/"


def test_the_readme_keeps_the_two_commands() -> None:
    """CI runs the README's test command (.ci/run), and the Makefile mirrors both."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "scripts/run.sh " in readme and "scripts/test.sh " in readme
    assert "scripts/test.sh" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def read_in(paths: Iterable[Path]) -> frozenset[str]:
    """The FILEPROC_* variables these files read."""
    found: set[str] = set()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            found.update(PY_READ.findall(text))
        elif path.suffix in (".yaml", ".yml"):
            found.update(YAML_READ.findall(text))
        else:
            found.update(SHELL_READ.findall(text))
    return frozenset(found)


@cache
def package_variables() -> frozenset[str]:
    package = REPO / "fileproc_dagster"
    return read_in([*package.rglob("*.py"), *package.rglob("*.yaml")])


@cache
def variables_of_the_tests() -> frozenset[str]:
    tests = [p for p in (REPO / "tests").rglob("*.py") if p.resolve() != Path(__file__).resolve()]
    return read_in(tests) - package_variables()


@cache
def benchmark_variables() -> frozenset[str]:
    return read_in((REPO / "benchmarks").rglob("*.py")) - package_variables()


@cache
def script_variables() -> frozenset[str]:
    scripts = [*(REPO / "scripts").iterdir(), REPO / ".ci" / "run",
               *(REPO / "deploy").glob("*.yaml")]
    return read_in(p for p in scripts if p.is_file()) - package_variables()


def named_in(*pages: Path) -> frozenset[str]:
    return frozenset(v for page in pages
                     for v in re.findall(VARIABLE, page.read_text(encoding="utf-8")))


def test_the_variable_readers_are_found() -> None:
    """Guards the patterns above: a pattern that finds nothing would pass every check."""
    assert {"FILEPROC_HOME", "FILEPROC_DB_URL", "FILEPROC_CELERY_BROKER"} <= package_variables()
    assert {"FILEPROC_TEST_PG_URL", "FILEPROC_FAULTS"} <= variables_of_the_tests()
    assert "FILEPROC_BENCH_PG" in benchmark_variables()
    assert "FILEPROC_WITH_OPENAI_WHISPER" in script_variables()


def test_every_documented_variable_is_read_somewhere() -> None:
    read = (package_variables() | variables_of_the_tests() | benchmark_variables()
            | script_variables())
    unknown = {page.relative_to(REPO).as_posix(): sorted(named_in(page) - read)
               for page in PAGES if named_in(page) - read}
    assert not unknown, f"variables no code reads: {unknown}"


def test_every_variable_the_package_reads_is_in_the_configuration_page() -> None:
    configuration = DOCS / "configuration.md"
    missing = sorted((package_variables() | script_variables()) - named_in(configuration))
    assert not missing, f"read by the package or the scripts, not in configuration.md: {missing}"


def test_the_tests_and_benchmarks_variables_are_on_their_pages() -> None:
    assert not sorted(variables_of_the_tests() - named_in(DOCS / "testing.md"))
    assert not sorted(benchmark_variables() - named_in(DOCS / "benchmarks.md"))


def test_the_formats_page_is_the_registrys_table() -> None:
    """docs/formats.md is written by scripts/make_formats_doc.py from the registry."""
    import runpy

    render = runpy.run_path(str(REPO / "scripts" / "make_formats_doc.py"))["render"]
    assert (DOCS / "formats.md").read_text(encoding="utf-8") == render(), (
        "docs/formats.md is stale: run python scripts/make_formats_doc.py")
