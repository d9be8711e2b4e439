"""params.yaml's `evaluate` (the evaluation stages; the tweet models' early stopping and the
baseline read `roc_threshold`)."""

from pipeline.schema import Float, Int

SCHEMA = {
    "roc_threshold": Float(0.0, 1.0, lo_open=True),
    "train_images": Int(0, 10_000_000),
    "ae_examples": Int(1, 50),
}
