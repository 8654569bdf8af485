"""Videos: the probe (streams, size, whether it decodes) and the reader (transcript, keyframes)."""
