"""Documents: PDFs (text layer or OCR), plain text and scanned page images."""
