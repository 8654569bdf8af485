"""Pages in other languages: detected, re-read with the matching tesseract pack, scored.

Pages are typed here in DejaVu Sans Mono (a typewriter face) with each language's own words
and diacritics; the English model drops or mangles those, the right pack reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from fileproc_dagster.describe.documents.describe import describe_document
from fileproc_dagster.describe.model import ExtractOptions
from fileproc_dagster.describe.ocr.languages import identify, installed, language_details, read_page
from fileproc_dagster.describe.ocr.tesseract import ocr_image

AUTO = ExtractOptions()

# (ISO 639-1, tesseract pack, the page, words only that language's model reads right)
PAGES = [
    ("de", "deu",
     "Sehr geehrte Frau Müller,\nwir bestätigen gern den Empfang Ihres Schreibens vom\n"
     "12. März. Die Prüfung der Unterlagen hat ergeben, dass für\ndas Grundstück am "
     "Gänsemarkt keine weiteren Gebühren\nfällig sind. Mit freundlichen Grüßen",
     ["Müller", "bestätigen", "Gebühren", "Grüßen"]),
    ("fr", "fra",
     "Madame, Monsieur,\nnous avons bien reçu votre lettre du 3 février concernant\n"
     "la rénovation de l'école élémentaire. Le conseil municipal\nexaminera le dossier à "
     "la prochaine séance. Veuillez agréer\nl'expression de nos salutations distinguées.",
     ["reçu", "février", "élémentaire", "séance"]),
    ("es", "spa",
     "Estimado señor García:\nle informamos que la reunión de la comisión tendrá lugar\n"
     "el próximo miércoles en la biblioteca pública. Por favor,\ntraiga los documentos del "
     "año pasado y la información\nsobre la calefacción del edificio. Atentamente,",
     ["señor", "reunión", "miércoles", "año"]),
    ("it", "ita",
     "Gentile signora Rossi,\nla riunione del comitato si terrà giovedì alle ore 18 nella\n"
     "sala della città. È necessario portare la documentazione\ne le proposte per "
     "l'attività dell'anno prossimo. Cordiali saluti",
     ["terrà", "giovedì", "città", "attività"]),
    ("en", "eng",
     "The quarterly meeting of the harbour trust\nwill be held on Tuesday 14 May at 7 pm\n"
     "in the reading room above the old library.\nMembers are asked to bring the accounts\n"
     "and any questions for the treasurer.", ["quarterly", "harbour", "treasurer"]),
]


def typed_page(text: str, font_name: str = "DejaVuSansMono.ttf", size: int = 40) -> Image.Image:
    """A page of ``text`` at about 300 dpi, as a typewriter would set it."""
    try:
        font = ImageFont.truetype(font_name, size)
    except OSError:
        pytest.skip("the DejaVu fonts (fonts-dejavu-core) are not installed")
    page = Image.new("L", (2300, 1100), 255)
    ImageDraw.Draw(page).multiline_text((120, 200), text, font=font, fill=0, spacing=24)
    return page


def _needs(pack: str) -> None:
    if pack not in installed():
        pytest.fail(f"tesseract language pack {pack!r} is missing (scripts/setup.sh installs it)")


@pytest.mark.parametrize(("iso", "pack", "text", "words"), PAGES, ids=[p[0] for p in PAGES])
def test_page_language_is_detected_and_read_with_its_pack(
        tmp_path: Path, word_accuracy: Callable[[str, str], float], iso: str, pack: str,
        text: str, words: list[str]) -> None:
    _needs(pack)
    path = tmp_path / f"letter_{iso}.png"
    page = typed_page(text)
    page.save(path, dpi=(300, 300))
    result = describe_document(path, "image/png", AUTO)
    details = result.details
    assert (details["language"], details["ocr_language"]) == (iso, pack)
    assert details["ocr_language_source"] == "detected"
    assert details["language_probability"] >= 0.9
    assert details["ocr_pages"][0]["language"] == pack
    score = word_accuracy(text, result.text)
    assert score >= 0.97, (score, result.text)
    for word in words:
        assert word in result.text, word
    if iso != "en":  # the English model alone reads the same page clearly worse
        assert word_accuracy(text, ocr_image(page, language="eng").text) < score


def test_configured_language_overrides_detection(
        word_accuracy: Callable[[str, str], float]) -> None:
    _, pack, text, _ = PAGES[0]
    forced = read_page(typed_page(text), language="eng")
    assert (forced.language, forced.language_source) == ("eng", "configured")
    assert forced.detected == "de"  # still named, from the text as read
    detected = read_page(typed_page(text))
    assert (detected.language, detected.language_source) == (pack, "detected")
    assert word_accuracy(text, detected.text) > word_accuracy(text, forced.text)


def test_other_script_is_named_and_read_with_its_pack_if_installed() -> None:
    text = ("Уважаемые коллеги,\nзаседание совета состоится во вторник\n"
            "в читальном зале старой библиотеки.\nПросим принести отчёты и вопросы.")
    result = read_page(typed_page(text, "DejaVuSans.ttf", 44))
    assert result.script == "Cyrillic"
    details = language_details([result], result.text, "auto")
    cyrillic = {"rus", "ukr", "bul", "srp", "mkd", "bel"} & installed()
    if cyrillic:
        assert result.language in {"+".join(sorted(cyrillic)[:3])}
        assert details["language"] == "ru"
    else:  # said plainly, not guessed
        assert result.language == "eng" and "language" not in details
        assert "Cyrillic script: no tesseract language pack" in details["language_note"]


@pytest.mark.parametrize(("text", "iso"), [
    ("Der Vorstand dankt allen Mitgliedern für die Unterstützung im vergangenen Jahr.", "de"),
    ("Les membres du bureau remercient tous les bénévoles pour leur aide cette année.", "fr"),
    ("Kurz.", None),  # too few letters to tell
])
def test_text_documents_report_their_language(tmp_path: Path, text: str,
                                              iso: str | None) -> None:
    path = tmp_path / "note.txt"
    path.write_text(text, encoding="utf-8")
    details = describe_document(path, "text/plain", AUTO).details
    assert details.get("language") == iso
    assert "ocr_language" not in details
    assert identify(text) is None if iso is None else identify(text) is not None
