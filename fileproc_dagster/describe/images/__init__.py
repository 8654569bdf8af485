"""Pictures: facts (size, EXIF, XMP), tags and faces, text in pictures, the page/photo probe."""
