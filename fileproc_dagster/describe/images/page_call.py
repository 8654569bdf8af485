"""The page/photo call: a picture is a page of text (a document) or a photo (an image),
decided from what a quick reading found on it, not from its pixels.

The rule, in order:

1. Nothing read with confidence: a photo (or a blank page, which has nothing to search).
2. A black-and-white (1-bit) picture, a fax or a scanner's B/W mode, with BILEVEL_MIN_WORDS
   confident words: a page. Cameras do not make 1-bit pictures; scanners and fax machines do,
   and a dense form in small type may give the quick reading few sure words.
3. PAGE_MIN_WORDS confident words on PAGE_MIN_LINES lines or more: a page, whatever the
   camera or the light (a page photographed at an angle is straightened before the reading).
4. A short page, a card or a receipt: SHORT_PAGE_LINES lines of words covering
   SHORT_PAGE_SHARE of the picture or more.
5. Anything else is a photo, with its text (a sign, a label, a caption) kept as text in the
   picture.

Example::

    from fileproc_dagster.describe.images.page_call import call_page
    from fileproc_dagster.describe.ocr.evidence import Evidence

    call_page(Evidence(confident_words=2, lines=1, line_area=9_000, area=1_000_000))
    # Call(document=False, why="2 confident words on 1 line over 1% of the picture: ...")
"""

from __future__ import annotations

from dataclasses import dataclass

from fileproc_dagster.describe.ocr.evidence import Evidence

BILEVEL_MIN_WORDS = 3
PAGE_MIN_WORDS = 20  # a street sign or a shop front has fewer; a page's few lines have more
PAGE_MIN_LINES = 3
SHORT_PAGE_LINES = 4
SHORT_PAGE_SHARE = 0.15  # a sign or label covers a few percent of a photo


@dataclass(frozen=True)
class Call:
    """A page of text (``document``) or not, and why, in words for the record."""

    document: bool
    why: str


def settled(evidence: Evidence) -> bool:
    """Whether enough has been read to call the picture a page (more reading changes nothing)."""
    return evidence.confident_words >= PAGE_MIN_WORDS and evidence.lines >= PAGE_MIN_LINES


def call_page(evidence: Evidence) -> Call:
    """The page/photo call of the module's rule, with the facts it rests on."""
    words, lines = evidence.confident_words, evidence.lines
    facts = (f"{words} confident word{'' if words == 1 else 's'} on {lines} "
             f"line{'' if lines == 1 else 's'} over {evidence.text_share:.0%} of the picture")
    if evidence.text_height:
        facts += f", letters {evidence.text_height:.0f} px"
    if evidence.scale != 1.0:
        facts += f", read at {evidence.scale:.2g}x"
    if words == 0:
        return Call(False, f"{facts}: nothing readable")
    if evidence.bilevel and words >= BILEVEL_MIN_WORDS:
        return Call(True, f"{facts}: a black-and-white scan or fax with text")
    if settled(evidence):
        return Call(True, f"{facts}: lines of text")
    if lines >= SHORT_PAGE_LINES and evidence.text_share >= SHORT_PAGE_SHARE:
        return Call(True, f"{facts}: a short page of text")
    return Call(False, f"{facts}: a picture with some text")
