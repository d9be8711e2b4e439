"""params.yaml's `download` (stages/download.py; preprocess_tweets reads `tweets`)."""

from pipeline.schema import Choice, Float, Int

SCHEMA = {
    # mirror: the offline mirror's two files (13,589 rows); first8000: its first file alone;
    # full: all 77,946 rows (needs internet).
    "tweets": Choice(("mirror", "first8000", "full")),
    "timeout": Float(0.0, 3600.0, lo_open=True),
    "retries": Int(0, 10),
}
