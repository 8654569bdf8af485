"""Documents: PDFs (text layer or OCR), plain text, Word files and scanned page images."""
