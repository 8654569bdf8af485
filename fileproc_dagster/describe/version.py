"""What describes a file, as one short string: the extractors' code and their configuration.

A record keeps the version that described it; Dagster shows it as the ``code_version`` of the
description asset, so a changed OCR language, whisper model or extractor marks the files
described before as stale, and running them again describes only those (see docs/usage.md).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fileproc_dagster.describe.model import ExtractOptions

_PACKAGE = Path(__file__).parent
_NOT_EXTRACTORS = {"preview.py", "version.py"}


@cache
def code_digest() -> str:
    """A digest of the extractors' source (the modules of this package that extract)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in _PACKAGE.rglob("*.py") if p.name not in _NOT_EXTRACTORS):
        name = path.relative_to(_PACKAGE).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:10]


def extractor_version(options: ExtractOptions) -> str:
    """E.g. ``ocr=eng whisper=faster-whisper: code=1a2b3c4d5e``; the model's directory name
    only (the path may differ between machines)."""
    model = Path(options.whisper_model).name if options.whisper_model else "packaged"
    return (f"ocr={options.ocr_language} whisper={options.whisper_backend}:{model} "
            f"tags={'on' if options.image_tags else 'off'} code={code_digest()}")
