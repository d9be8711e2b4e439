"""Where the stages keep the models they train, and which stage trains each: one home for these
names, with no TensorFlow import, so that every stage (those that never load Keras too) and
every error message takes them from here. tests/test_dvc_deps.py checks them against dvc.yaml."""

from pathlib import Path

MODELS = Path("data/models")
CURVES = Path("metrics/train")  # per model: metrics.json (dvclive's summary) and plots/
TWEET_MODELS = ("rnn", "charcnn")  # trained by one stage definition, dvc.yaml's train_tweets foreach


def model_path(name: str) -> Path:
    return MODELS / f"{name}.keras"


def val_scores_path(name: str) -> Path:
    """Where a tweet model's stage keeps its validation scores from before the refit."""
    return MODELS / f"{name}.val_scores.npy"


def trained_by(name: str) -> str:
    """The stage that makes data/models/<name>.keras, as `dvc repro` names it."""
    return f"train_tweets@{name}" if name in TWEET_MODELS else f"train_{name}"
