"""The word lists readings are judged with: pyspellchecker's (MIT), shipped in its package,
one per language, each loaded once per process and only when a page needs it (~0.3 s).

Example::

    from fileproc_dagster.describe.ocr.word_lists import word_list

    "richmond" in word_list("en")   # True; "eichmond": False
"""

from __future__ import annotations

import functools
from typing import Any

# The languages (ISO 639-1) pyspellchecker has a word list for.
LANGUAGES = frozenset({"en", "es", "fr", "de", "it", "pt", "nl", "ru", "ar", "eu", "fa", "lv"})


@functools.cache
def word_list(iso: str) -> Any:
    """The word list of language ``iso`` (one of LANGUAGES): ``word in word_list(iso)``."""
    if iso not in LANGUAGES:
        raise ValueError(f"no word list for {iso!r}")
    from spellchecker import SpellChecker

    return SpellChecker(language=iso, distance=1)
