"""The language of a page or a text, and reading a page with the matching tesseract model.

With ``ocr_language="auto"`` (the default) a page is read once with English, which reads any
Latin-script page well enough to tell its language; py3langid (BSD, model bundled in the
package) names the language of that text, and a page in another language that has an
installed tesseract pack is read again with it. When the first read finds (almost) nothing,
tesseract's orientation-and-script detection names the script, and the page is read again
with the installed packs of that script. Any other ``ocr_language`` (``deu``, ``eng+fra``) is
used as it is, with no detection.

Example::

    from PIL import Image
    from fileproc_dagster.describe.ocr.languages import read_page

    result = read_page(Image.open("brief.png"))
    print(result.language, result.detected, result.text)  # deu de Sehr geehrte Damen ...
"""

from __future__ import annotations

import functools
import logging
import re
import subprocess
import time
from dataclasses import replace
from typing import Any

from PIL import Image

from fileproc_dagster.describe.ocr.second_read import second_opinion
from fileproc_dagster.describe.ocr.tesseract import TESSERACT, OcrResult, ocr_image
from fileproc_dagster.errors import StepTimeout

log = logging.getLogger(__name__)

AUTO = "auto"
FIRST_READ = "eng"
MIN_LETTERS = 40  # fewer letters than this say too little about a language
MIN_PROBABILITY = 0.90
_POOR_READ = 60.0  # mean confidence under which the page may be in another script
# tesseract model -> ISO 639-1 code (what py3langid and whisper report), and its script.
_LANGUAGES: dict[str, tuple[str, str]] = {
    "eng": ("en", "Latin"), "deu": ("de", "Latin"), "fra": ("fr", "Latin"),
    "spa": ("es", "Latin"), "ita": ("it", "Latin"), "nld": ("nl", "Latin"),
    "por": ("pt", "Latin"), "pol": ("pl", "Latin"), "ces": ("cs", "Latin"),
    "slk": ("sk", "Latin"), "slv": ("sl", "Latin"), "hrv": ("hr", "Latin"),
    "hun": ("hu", "Latin"), "ron": ("ro", "Latin"), "swe": ("sv", "Latin"),
    "dan": ("da", "Latin"), "nor": ("no", "Latin"), "fin": ("fi", "Latin"),
    "est": ("et", "Latin"), "lav": ("lv", "Latin"), "lit": ("lt", "Latin"),
    "tur": ("tr", "Latin"), "cat": ("ca", "Latin"), "eus": ("eu", "Latin"),
    "glg": ("gl", "Latin"), "isl": ("is", "Latin"), "gle": ("ga", "Latin"),
    "lat": ("la", "Latin"), "ind": ("id", "Latin"), "msa": ("ms", "Latin"),
    "vie": ("vi", "Latin"), "rus": ("ru", "Cyrillic"), "ukr": ("uk", "Cyrillic"),
    "bul": ("bg", "Cyrillic"), "srp": ("sr", "Cyrillic"), "mkd": ("mk", "Cyrillic"),
    "bel": ("be", "Cyrillic"), "ell": ("el", "Greek"), "heb": ("he", "Hebrew"),
    "ara": ("ar", "Arabic"), "fas": ("fa", "Arabic"), "hin": ("hi", "Devanagari"),
    "tha": ("th", "Thai"), "kor": ("ko", "Hangul"), "jpn": ("ja", "Japanese"),
    "chi_sim": ("zh", "Han"), "chi_tra": ("zh", "Han"),
}
_BY_ISO = {iso: model for model, (iso, _) in reversed(_LANGUAGES.items())}


def first_read_language(configured: str) -> str:
    """The tesseract language of a plain read: the configured one, or English under auto."""
    return FIRST_READ if configured == AUTO else configured


@functools.cache
def installed() -> frozenset[str]:
    """Tesseract language packs on this machine (``tesseract --list-langs``)."""
    # Run here rather than by pytesseract, whose import (pandas) costs a third of a second.
    listing = subprocess.run([TESSERACT, "--list-langs"], capture_output=True, text=True,
                             check=True).stdout
    return frozenset(line.strip() for line in listing.splitlines()
                     if re.fullmatch(r"[a-z_]+", line.strip()))


@functools.cache
def language_model() -> Any:
    """py3langid's identifier, loaded once per process (~0.4 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    # Normalised probabilities make a threshold meaningful.
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(text: str) -> tuple[str, float] | None:
    """ISO 639-1 code and probability of ``text``'s language; None when it says too little."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return None
    code, probability = language_model().classify(text)
    return str(code), round(float(probability), 3)


def model_for(iso: str) -> str | None:
    """The installed tesseract model of an ISO 639-1 language, if there is one."""
    model = _BY_ISO.get(iso)
    return model if model in installed() else None


def read_page(image: Image.Image, *, language: str = AUTO, timeout_s: float = 120.0,
              clean: bool = True) -> OcrResult:
    """OCR one page, in the configured language or the one detected (see the module doc),
    and a second way when it reads poorly (``second_read.py``)."""
    started = time.monotonic()
    result = _read_in_language(image, language=language, timeout_s=timeout_s, clean=clean)
    if not clean:
        return result
    return second_opinion(image, result, timeout_s=timeout_s - (time.monotonic() - started))


def _read_in_language(image: Image.Image, *, language: str, timeout_s: float,
                      clean: bool) -> OcrResult:
    if language != AUTO:
        result = ocr_image(image, language=language, timeout_s=timeout_s, clean=clean)
        return _with_detection(result, language, "configured")
    started = time.monotonic()
    first = ocr_image(image, language=FIRST_READ, timeout_s=timeout_s, clean=clean)
    guess = identify(first.text)
    script = ""
    if guess is None or first.mean_confidence < _POOR_READ:
        script = _script(image, timeout_s - (time.monotonic() - started))
    candidates = _candidates(guess, script)
    if not candidates or candidates == FIRST_READ:
        return _with_detection(first, FIRST_READ, "detected", guess, script)
    left = timeout_s - (time.monotonic() - started)
    if left <= 0:
        raise StepTimeout(f"OCR ran past its time limit of {timeout_s:g} s")
    second = ocr_image(image, language=candidates, timeout_s=left, clean=clean)
    log.debug("first read eng %.1f, second %s %.1f", first.mean_confidence, candidates,
              second.mean_confidence)
    if second.words and second.mean_confidence + 5 >= first.mean_confidence:
        second = replace(second, seconds=time.monotonic() - started)
        return _with_detection(second, candidates, "detected", identify(second.text) or guess,
                               script)
    return _with_detection(replace(first, seconds=time.monotonic() - started), FIRST_READ,
                           "detected", guess, script)


def _candidates(guess: tuple[str, float] | None, script: str) -> str:
    """Tesseract language(s) to read the page with again, "" to keep the English read."""
    if script and script != "Latin":
        same = sorted(m for m in installed() if _LANGUAGES.get(m, ("", ""))[1] == script)
        return "+".join(same[:3])
    if guess is None or guess[1] < MIN_PROBABILITY:
        return ""
    return model_for(guess[0]) or ""


def _script(image: Image.Image, timeout_s: float) -> str:
    """The script tesseract's OSD sees on the page ("" when it cannot tell)."""
    if timeout_s <= 1:
        return ""
    import pytesseract  # here: it imports pandas, which a clear page never needs

    try:
        report = pytesseract.image_to_osd(image.convert("L"), timeout=timeout_s)
    except (pytesseract.TesseractError, RuntimeError) as exc:  # too few characters, or slow
        log.debug("no script detected: %s", exc)
        return ""
    script = re.search(r"Script:\s*(\w+)", report)
    confidence = re.search(r"Script confidence:\s*([\d.]+)", report)
    if not script or not confidence or float(confidence.group(1)) < 1.0:
        return ""
    return script.group(1)


def _with_detection(result: OcrResult, model: str, source: str,
                    guess: tuple[str, float] | None = None, script: str = "") -> OcrResult:
    if guess is None and source == "configured":
        guess = identify(result.text)
    iso, probability = guess if guess else ("", 0.0)
    return replace(result, language=model, language_source=source, detected=iso,
                   detected_probability=probability, script=script)


def language_details(results: list[OcrResult], text: str, configured: str) -> dict[str, Any]:
    """Document-level language facts: detected language, OCR model(s), how it was chosen."""
    guess = identify(text)
    details: dict[str, Any] = {}
    if guess is not None and guess[1] >= MIN_PROBABILITY:
        details["language"], details["language_probability"] = guess
    if not results:
        return details
    models = sorted({r.language for r in results})
    details["ocr_language"] = models[0] if len(models) == 1 else models
    details["ocr_language_source"] = "detected" if configured == AUTO else "configured"
    second = [{"ocr_page": n, **r.second_opinion}
              for n, r in enumerate(results, start=1) if r.second_opinion]
    if second:
        details["ocr_second_opinions"] = second
    scripts = sorted({r.script for r in results if r.script})
    if scripts:
        details["script"] = scripts[0] if len(scripts) == 1 else scripts
    if configured != AUTO:
        return details
    unreadable = [s for s in scripts if s != "Latin" and not _candidates(None, s)]
    if unreadable:
        details["language_note"] = (f"{' and '.join(unreadable)} script: no tesseract language "
                                    f"pack for it is installed; read with {FIRST_READ}")
    elif "language" in details and not model_for(details["language"]):
        details["language_note"] = (f"no tesseract language pack installed for "
                                    f"{details['language']!r}; read with {FIRST_READ}")
    return details
