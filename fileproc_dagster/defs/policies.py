"""Named retry policies, tuned per step: storage retries often, transcription seldom.

Exponential backoff with jitter spreads retries of many files hitting one outage. Bad input is
never retried: the assets raise ``dg.Failure(allow_retries=False)`` for it.
"""

import dagster as dg

STORE_RETRY = dg.RetryPolicy(
    max_retries=6, delay=1.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
RECORD_RETRY = dg.RetryPolicy(
    max_retries=6, delay=0.5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
DESCRIBE_RETRY = dg.RetryPolicy(
    max_retries=2, delay=5.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
FINALIZE_RETRY = dg.RetryPolicy(
    max_retries=6, delay=1.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
