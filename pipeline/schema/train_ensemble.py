"""params.yaml's `train_ensemble` (pipeline/models/ensemble.py)."""

from pipeline.schema import Bool, Choice, Float, ListOf, Weights

SCHEMA = {
    "members": ListOf(Choice(("rnn", "charcnn")), 1, 2),
    "weights": Weights(),
    "calibrate": Bool(),
    "calibration_l2": Float(0.0, 100.0),
}
PAIRED = [("weights", "members", "member")]
USED_ONLY_WITH = [("calibration_l2", "calibrate", True)]
