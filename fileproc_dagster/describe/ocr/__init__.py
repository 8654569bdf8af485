"""Reading a page image: tesseract, language detection and the page clean-up before it."""
