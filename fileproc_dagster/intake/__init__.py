"""Intake: the upload directory, what counts as a finished upload, admission and quarantine."""
