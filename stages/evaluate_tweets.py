"""evaluate_tweets <model>: a tweet model on the test split -> metrics/evaluate/<model>.json and
plots/evaluate/<model>/ (ROC curve data and a picture per kind). One stage per model (a foreach
in dvc.yaml), so retraining one model re-evaluates that model alone."""

import stages.with_tensorflow  # noqa: F401  (first: TensorFlow starts quietly)

# isort: split

import sys

from pipeline import errors, evaluation, outputs, params, training, tweets
from pipeline import tweet_evaluation as ev
from pipeline.models import text


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise errors.UserError("usage: python -m stages.evaluate_tweets MODEL (rnn, charcnn or ensemble)")
    name = argv[0]
    p = params.load("evaluate")
    model = training.load(outputs.model_path(name))
    if training.kind(model) != "tweets":
        raise errors.UserError(f"{name} takes images: run `python -m stages.evaluate_images {name}`")
    texts, k = tweets.load_prepared("test")
    scores = text.predict(model, texts)
    predict_flops = evaluation.r(text.predict_flops(model, texts))
    ev.write_text_results(name, k, scores, p["roc_threshold"], {"predict_flops": predict_flops})


if __name__ == "__main__":
    errors.run_stage("evaluate_tweets", lambda: main(sys.argv[1:]))
