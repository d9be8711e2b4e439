"""params.yaml's `baseline_text` (stages/baseline_text.py)."""

from pipeline.schema import Bool, Float, Int

SCHEMA = {
    "max_features": Int(100, 10_000_000),
    "alpha_per_1000_tweets": Float(0.0, 1e6, lo_open=True),
    "with_val": Bool(),
}
