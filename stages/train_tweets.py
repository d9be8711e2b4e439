"""train_tweets MODEL (rnn or charcnn): data/prepared/tweets -> data/models/<MODEL>.keras (and its
validation scores before the refit, for train_ensemble), curves in metrics/train/<MODEL>/.

One stage definition for both tweet models (dvc.yaml's `train_tweets` foreach): they share
everything but their builder, pipeline/models/<MODEL>.py, imported by name so that each stage
runs (and depends on) its own model's file alone."""

import stages.with_tensorflow  # noqa: F401  (first: TensorFlow starts quietly)

# isort: split

import importlib
import sys

from pipeline import errors, outputs, text_training


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in outputs.TWEET_MODELS:
        raise errors.UserError(f"usage: python -m stages.train_tweets MODEL ({' or '.join(outputs.TWEET_MODELS)})")
    name = argv[0]
    text_training.train(name, importlib.import_module(f"pipeline.models.{name}").from_params)


if __name__ == "__main__":
    errors.run_stage("train_tweets", lambda: main(sys.argv[1:]))
