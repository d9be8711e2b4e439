"""params.yaml's `preprocess` (stages/preprocess_fashion.py, stages/preprocess_tweets.py)."""

from pipeline.schema import Float, Int

SCHEMA = {
    "fashion": {
        "val_fraction": Float(0.0, 0.5, lo_open=True),
        # 0 keeps the whole split; tests and CI set small limits for quick runs.
        "max_train": Int(0),
        "max_val": Int(0),
        "max_test": Int(0),
    },
    "tweets": {
        "test_fraction": Float(0.0, 0.5, lo_open=True),
        "val_fraction": Float(0.0, 0.5, lo_open=True),
        "max_rows": Int(0),
    },
}
