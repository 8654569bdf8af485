"""Pages made the way real uploads go wrong: phone photos of a page, scans with a bad OCR layer;
and the measures of real pages (tests/realworld/pages) against plain tesseract.

``render_page`` sets text in a real TrueType font on an A4 page at 300 dpi; ``photograph``
turns it into what a phone makes of it (light falling off to one side, ink and paper greyer,
blur, a small picture, sensor noise, JPEG); ``scanned_pdf`` wraps a page image in a PDF with
a text layer laid over it the way OCR engines do (invisible text, render mode 3), or any other
layer the test asks for. Scoring uses the corpus's own scorer when the corpus is there.

``transcript_accuracy`` scores a reading against a transcript of a page's first lines: the
part of the reading that best matches the transcript (an alignment free at both ends), scored
as the corpus scores OCR. ``plain_tesseract`` and ``text_layer`` are the baselines: what
``tesseract FILE -`` reads, and a PDF's own text.
"""

from __future__ import annotations

import difflib
import importlib.util
import io
import os
import re
import subprocess
import tempfile
import textwrap
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from support.samples import find_font

A4_INCHES = (8.27, 11.69)
A4_POINTS = (595.27, 841.89)
LEADING = 1.45  # line pitch as a multiple of the font size

MINUTES = (
    "The harbour trust met on Tuesday evening in the reading room above the old library. "
    "The treasurer reported that the repairs to the north wall had cost less than expected, "
    "and that the fund for the new slipway now stands at four thousand pounds. Members agreed "
    "to ask the council for a grant towards the lighting of the pier, and to hold the summer "
    "fair on the second Saturday of July. The secretary will write to the boat owners about "
    "the mooring fees, which rise next spring for the first time in six years.\n"
    "Volunteers are needed to paint the railings and to mend the benches before the visitors "
    "arrive. The rowing club offered its boathouse for the autumn supper, and the choir will "
    "sing at the lantern parade in December. Questions about the accounts should be sent to "
    "the treasurer before the end of the month. The next meeting will be held on the first "
    "Monday of October at half past seven, and new members are always welcome.\n"
    "The meeting closed at nine with thanks to the chairman and to everyone who brought cakes."
)


def render_page(text: str = MINUTES, *, points: float = 11.0, dpi: int = 300
                ) -> tuple[Image.Image, list[str]]:
    """A white A4 page with ``text`` set in a serif font, 1 inch margins; and its lines."""
    width, height = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    font = ImageFont.truetype(str(find_font()), round(points * dpi / 72))
    per_line = int((width - 2 * dpi) / (font.getlength("abcdefghijklmnopqrstuvwxyz") / 26))
    lines = [line for para in text.split("\n") for line in textwrap.wrap(para, per_line)]
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    for row, line in enumerate(lines):
        draw.text((dpi, dpi + row * round(font.size * LEADING)), line, font=font, fill=0)
    return page, lines


def photograph(page: Image.Image, *, long_side: int, dark: float, blur: float,
               corner: bool = False, noise: float = 4.0, quality: int = 75, seed: int = 0
               ) -> bytes:
    """JPEG bytes of ``page`` as a phone photographs it, straight on (no perspective).

    ``dark`` is the light left on the page's left edge (1.0: even light); ``blur`` the
    softness in output pixels; ``corner`` also darkens the bottom.
    """
    rng = np.random.default_rng(seed)
    grey = np.asarray(page, np.float32)
    h, w = grey.shape
    grey = 40 + grey * (225 - 40) / 255  # printed ink is not black, paper not white
    light = dark + (1 - dark) * np.linspace(0, 1, w)[None, :] ** 0.8
    if corner:
        light = light * (0.75 + 0.25 * np.linspace(1, 0, h)[:, None])
    scale = long_side / max(h, w)
    grey = cv2.GaussianBlur(grey * light, (0, 0), blur / scale)
    grey = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    grey = np.clip(grey + rng.normal(0, noise, grey.shape), 0, 255)
    # A warm cast: daylight on paper through a phone's white balance.
    rgb = np.dstack([grey, grey * 0.97, grey * 0.88]).clip(0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def scanned_pdf(path: Path, pages: list[tuple[Image.Image | None, list[str], int]],
                *, points: float = 11.0, layer_first: bool = False) -> Path:
    """A PDF of (page image or None, text layer lines, text render mode) pages.

    The text layer is set where ``render_page`` drew the lines, as an OCR engine would;
    mode 3 is invisible text, mode 0 ordinary visible text. ``layer_first`` draws the text
    before the image, so the image covers it (another way engines hide their layer).
    """
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    width, height = A4_POINTS
    pdf = canvas.Canvas(str(path), pagesize=A4_POINTS)
    for image, lines, mode in pages:
        text = pdf.beginText()
        text.setTextRenderMode(mode)
        text.setFont("Helvetica", points)
        text.setTextOrigin(72, height - 72 - points)
        text.setLeading(round(points * 300 / 72 * LEADING) * 72 / 300)
        for line in lines:
            text.textLine(line)
        if layer_first:
            pdf.drawText(text)
        if image is not None:
            png = io.BytesIO()
            image.save(png, format="PNG")
            png.seek(0)
            pdf.drawImage(ImageReader(png), 0, 0, width, height)
        if not layer_first:
            pdf.drawText(text)
        pdf.showPage()
    pdf.save()
    return path


def _corpus_scorer() -> object | None:
    corpus = Path(os.environ.get("FILEPROC_CORPUS",
                                 Path(__file__).resolve().parents[3] / "shared" / "corpus"))
    spec = importlib.util.spec_from_file_location("corpus_score", corpus / "score.py")
    if not (corpus / "score.py").is_file() or spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SCORER = _corpus_scorer()


def word_accuracy(expected: str, got: str) -> float:
    """The corpus scorer's word accuracy; without the corpus, in-order word matches."""
    if _SCORER is not None:
        return float(_SCORER.score(expected, got)["accuracy"])  # type: ignore[attr-defined]

    def words(text: str) -> list[str]:
        return re.findall(r"\w+", text.casefold())

    return difflib.SequenceMatcher(None, words(expected), words(got)).ratio()


def _tokens(text: str) -> list[str]:
    """The corpus scorer's words (case-folded, punctuation dropped); without it, plain words."""
    if _SCORER is not None:
        return list(_SCORER.tokens(text))  # type: ignore[attr-defined]
    return re.findall(r"\w+", text.casefold())


def matching_part(transcript: list[str], reading: list[str]) -> tuple[int, int]:
    """Where in ``reading`` the words of ``transcript`` are: the slice of fewest word edits.

    A semi-global alignment: words before and after the slice cost nothing, so a page read in
    another order (a margin, another column first) is scored on the part that is the transcript.
    """
    # One row per transcript word: (edits, start of the slice) for each end in the reading.
    row = [(0, j) for j in range(len(reading) + 1)]
    for word in transcript:
        next_row = [(row[0][0] + 1, 0)]
        for j, seen in enumerate(reading, 1):
            edits, start = row[j - 1]
            best = (edits + (word != seen), start)
            if row[j][0] + 1 < best[0]:  # the transcript's word is missing from the reading
                best = (row[j][0] + 1, row[j][1])
            if next_row[j - 1][0] + 1 < best[0]:  # the reading has an extra word
                best = (next_row[j - 1][0] + 1, next_row[j - 1][1])
            next_row.append(best)
        row = next_row
    end = min(range(len(row)), key=lambda j: (row[j][0], j))
    return row[end][1], end


def transcript_accuracy(transcript: str, reading: str) -> float:
    """Word accuracy (1 - WER, floored at 0) of the part of ``reading`` matching ``transcript``."""
    expected, got = _tokens(transcript), _tokens(reading)
    if not expected:
        return 1.0 if not got else 0.0
    start, end = matching_part(expected, got)
    return word_accuracy(" ".join(expected), " ".join(got[start:end]))


def _tesseract_env() -> dict[str, str]:
    # One thread, as our pipeline runs it: OpenMP threads spin while they wait and would bill
    # the plain run CPU that does no reading.
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def plain_tesseract(path: Path, dpi: int = 300) -> str:
    """``tesseract FILE -``; a PDF's pages are rendered at ``dpi`` first, each read so."""
    if path.suffix.lower() != ".pdf":
        return _tesseract(path)
    import pypdfium2 as pdfium

    texts = []
    with tempfile.TemporaryDirectory() as scratch:
        document = pdfium.PdfDocument(str(path))
        try:
            for index in range(len(document)):
                page_png = Path(scratch) / f"page-{index + 1}.png"
                document[index].render(scale=dpi / 72).to_pil().save(page_png)
                texts.append(_tesseract(page_png))
        finally:
            document.close()
    return "\n".join(texts)


def _tesseract(path: Path) -> str:
    done = subprocess.run(["tesseract", str(path), "-"], capture_output=True, check=True,
                          env=_tesseract_env(), timeout=600)
    return done.stdout.decode("utf-8", "replace")


def text_layer(path: Path) -> str:
    """A PDF's own text (its OCR layer for a searchable scan), page after page."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(document[i].get_textpage().get_text_range()
                         for i in range(len(document)))
    finally:
        document.close()
