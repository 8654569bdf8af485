"""What a reading shows about a picture: confident words, the text lines they make, the area.

Tesseract's word boxes of a quick reading are boiled down to the few facts the page/photo
call (``describe/images/page_call.py``) is made from: how many words it read with
confidence, how many text lines hold two or more of them, and how much of the picture those
lines cover. A page is lines of words across most of it; a sign in a photo is a line or two
in a corner; a photo without text gives no confident words at all.

Example::

    from fileproc_dagster.describe.ocr.evidence import gather
    from fileproc_dagster.describe.ocr.tesseract import word_rows

    evidence = gather(word_rows(grey, "eng", 30.0), area=grey.size, bilevel=False)
    print(evidence.confident_words, evidence.lines, evidence.text_share)
"""

from __future__ import annotations

from dataclasses import dataclass

from fileproc_dagster.describe.ocr.tesseract import CONFIDENT


@dataclass(frozen=True)
class Evidence:
    """Facts of one or more readings of a picture (add two with ``+``)."""

    confident_words: int  # words read at CONFIDENT or more, with 2+ letters or digits
    lines: int  # text lines holding two or more such words
    line_area: int  # px inside those lines' boxes
    area: int  # px read
    bilevel: bool = False  # a black-and-white picture: a fax, a scanner's B/W mode
    text_height: float | None = None  # px of a typical letter, as decoded for the reading
    scale: float = 1.0  # how the picture was scaled for the reading

    @property
    def text_share(self) -> float:
        """Share of the area read that lies inside text lines (0-1)."""
        return min(self.line_area / self.area, 1.0) if self.area else 0.0

    def __add__(self, other: Evidence) -> Evidence:
        return Evidence(self.confident_words + other.confident_words, self.lines + other.lines,
                        self.line_area + other.line_area, self.area + other.area,
                        self.bilevel or other.bilevel, self.text_height or other.text_height,
                        self.scale)


def real_word(word: str) -> bool:
    """Whether a read word counts as text: two or more letters or digits (not a speck)."""
    return sum(ch.isalnum() for ch in word) >= 2


def gather(rows: list[list[str]], *, area: int, bilevel: bool = False,
           text_height: float | None = None, scale: float = 1.0) -> Evidence:
    """The evidence in tesseract's TSV word rows (``tesseract.word_rows``) of ``area`` px."""
    lines: dict[tuple[str, str, str], list[tuple[int, int, int, int]]] = {}
    confident = 0
    for cells in rows:
        if float(cells[10]) < CONFIDENT or not real_word(cells[11].strip()):
            continue
        confident += 1
        left, top, width, height = (int(v) for v in cells[6:10])
        lines.setdefault((cells[2], cells[3], cells[4]), []).append((left, top, width, height))
    line_area = 0
    text_lines = 0
    for boxes in lines.values():
        if len(boxes) < 2:
            continue
        text_lines += 1
        left = min(b[0] for b in boxes)
        right = max(b[0] + b[2] for b in boxes)
        top = min(b[1] for b in boxes)
        bottom = max(b[1] + b[3] for b in boxes)
        # A line's box with its share of the leading above and below: the text's own band.
        line_area += (right - left) * round((bottom - top) * 1.5)
    return Evidence(confident, text_lines, line_area, area, bilevel, text_height, scale)
