"""Recordings: the probe (duration, codec) and the transcribers (faster-whisper, openai-whisper)."""
