"""Write docs/formats.md from the format registry (tests/test_docs.py checks it is current)."""

from __future__ import annotations

from pathlib import Path

from fileproc_dagster.describe.formats import markdown_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "formats.md"
INTRO = """# File formats

Every format fileproc knows, from its registry
([`describe/formats.py`](../fileproc_dagster/describe/formats.py); the same table is printed
by `fileproc formats`, see the [command line](cli.md)). A file's format is recognised from its bytes
(libmagic), never from its name; a picture's probe decides whether it is a scanned page
(a document, OCR) or a photo (an image). A refused format is quarantined with the reason
shown here.

Adding a format is one entry in `FORMATS`, one reader module (a function
`(path, mime, options) -> Description`) and its tests; then run
`python scripts/make_formats_doc.py` to refresh this page.

"""


def render() -> str:
    return INTRO + markdown_table()


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")
