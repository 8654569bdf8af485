"""Whether a PDF page's text layer can be trusted, or the page image reads better.

Scanned PDFs often carry an invisible text layer made by another OCR engine, with its errors
(``tHe CounCil``, ``l0cal``, ``allot ment``). Such a layer is judged by the shape of its words:
capitals inside lowercase words and digits among letters are what misreads look like, and
clean text has almost none. A layer with too many is compared with tesseract's own reading of
the page image, and the better of the two is kept. Text drawn as text (a digital PDF) is what
the author typed: it is never judged and never re-read.

Example::

    from fileproc_dagster.describe.documents.text_layer import over_image, suspect_share

    over_image(pdf[0])  # True: a page picture with hidden text on it (a scan's OCR layer)
    suspect_share("The CounCil met in tHe l0cal hall")  # 3 of 7 words: 0.43
"""

from __future__ import annotations

import difflib
import re

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

# More than this share of a layer's words shaped like misreads (and at least _SUSPECT_MIN of
# them) sends the page to OCR; clean prose, names and codes included, stays well below it.
SUSPECT_LIMIT = 0.02
_SUSPECT_MIN = 2
_COVERING_IMAGE = 0.5  # an image over at least half the page is the page itself (a scan)
_HIDDEN_TEXT = 0.9  # share of text objects that must be invisible or under that image
_WORD = re.compile(r"[^\W_](?:[\w'’.\-]*[^\W_])?")
# Letters next to digits that are normal: 3rd, 10am, 5kg, A4, M25, COVID-19, 2x, 1990s.
_NORMAL_MIX = re.compile(
    r"\d+(st|nd|rd|th|am|pm|s|x|k|m|g|h|kg|km|cm|mm|ml|ft|in|mb|gb|kb|hz|khz)?|"
    r"[A-Z]{1,5}-?\d+[A-Za-z]?|\d+[A-Z]{1,3}|\d+(\.\d+)?[a-z]{1,3}", re.IGNORECASE)
_CAPS_THEN_LOWER = re.compile(r"[A-Z]{2,}[a-z]+")  # THe, WAter
_PLURAL_CAPS = re.compile(r"[A-Z]{2,}s")  # PDFs, IDs
_INNER_CAPITAL = re.compile(r"[a-z][A-Z]")
_NAME_PREFIX = re.compile(r"(Mc|Mac|O'|D'|De|La|Le|Van|Von|Di|Da)[A-Z]")


def over_image(page: pdfium.PdfPage) -> bool:
    """Whether the page is a picture with hidden text (invisible, or under it): a scan's layer."""
    width, height = page.get_size()
    area = max(width * height, 1.0)
    covering: list[int] = []
    texts: list[tuple[int, bool]] = []  # z-order index, invisible
    for index, obj in enumerate(page.get_objects(max_depth=2)):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            left, bottom, right, top = obj.get_bounds()
            if (right - left) * (top - bottom) >= _COVERING_IMAGE * area:
                covering.append(index)
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT:
            mode = pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw)
            texts.append((index, mode == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE))
    if not covering or not texts:
        return False
    last_image = max(covering)
    hidden = sum(1 for index, invisible in texts if invisible or index < last_image)
    return hidden >= _HIDDEN_TEXT * len(texts)


def words(text: str) -> list[str]:
    """The words of ``text``, without the punctuation around them."""
    return _WORD.findall(text)


def is_suspect(word: str) -> bool:
    """Whether a word is shaped like an OCR misread (tHe, WAter, l0cal, 5ummer)."""
    letters = sum(ch.isalpha() for ch in word)
    if letters < 2:
        return False
    if any(ch.isdigit() for ch in word):
        return not _NORMAL_MIX.fullmatch(word)
    if _CAPS_THEN_LOWER.fullmatch(word) and not _PLURAL_CAPS.fullmatch(word):
        return True
    if word.isupper() or word.islower() or word.istitle():
        return False
    inner = _INNER_CAPITAL.search(word)
    return inner is not None and not _NAME_PREFIX.match(word)


def suspect_share(text: str) -> float:
    """Share of the words of ``text`` shaped like misreads (0.0 for no words)."""
    found = words(text)
    if not found:
        return 0.0
    return sum(is_suspect(w) for w in found) / len(found)


def too_suspect(text: str) -> bool:
    """Whether a text layer has enough misread-shaped words to be checked against the image."""
    found = words(text)
    suspects = sum(is_suspect(w) for w in found)
    return suspects >= _SUSPECT_MIN and suspects > SUSPECT_LIMIT * len(found)


def agreement(first: str, second: str) -> float:
    """How far two readings of a page agree, word for word (0-1, case-blind)."""
    a = [w.casefold() for w in words(first)]
    b = [w.casefold() for w in words(second)]
    if not a and not b:
        return 1.0
    return round(difflib.SequenceMatcher(None, a, b, autojunk=False).ratio(), 3)
