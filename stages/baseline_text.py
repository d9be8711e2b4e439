"""baseline_text: the classical bar for the tweet models, scored exactly like them.

TF-IDF over word 1-2-grams and character 2-5-grams, and ridge regression onto the 15 kind
fractions (clipped to [0, 1]) with a penalty in proportion to the tweets, fitted on the training
split (with `with_val`, on train and val together: the tweets the deep models learn from when
they refit) and scored on the test split by the same code as the deep models ->
metrics/evaluate/tfidf.json, plots/evaluate/tfidf/.
"""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline, make_union

from pipeline import errors, params, tweets
from pipeline import tweet_evaluation as ev


def build(*, max_features: int, alpha: float):
    """The baseline as an unfitted scikit-learn pipeline: strings in, 15 kind scores out."""
    return make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), max_features=max_features, sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), max_features=max_features, sublinear_tf=True),
        ),
        Ridge(alpha=alpha),
    )


def penalty(alpha_per_1000_tweets: float, tweets_fitted: int) -> float:
    """scikit-learn's ridge alpha for that many tweets: a fixed alpha weighs less as the tweets
    grow, and the solver's iterations grow with the ratio (bench/baseline_cost.py)."""
    return alpha_per_1000_tweets * tweets_fitted / 1000


def fit(texts, k, *, max_features: int, alpha_per_1000_tweets: float):
    """The baseline fitted to the fractions `k` of `texts`, its penalty set for that many tweets."""
    return build(max_features=max_features, alpha=penalty(alpha_per_1000_tweets, len(texts))).fit(texts, k)


def predict(model, texts) -> np.ndarray:
    """Kind scores in [0, 1], as the tweet models give them (ridge's own range is unbounded)."""
    return np.clip(model.predict(texts), 0.0, 1.0)


def main() -> None:
    p = params.load("baseline_text")
    threshold = params.load("evaluate")["roc_threshold"]
    (x_train, k_train), (x_test, k_test) = tweets.load_prepared("train"), tweets.load_prepared("test")
    if p["with_val"]:
        x_val, k_val = tweets.load_prepared("val")
        x_train, k_train = np.concatenate([x_train, x_val]), np.concatenate([k_train, k_val])
    model = fit(x_train, k_train, **params.keywords(fit, p))
    ev.write_text_results("tfidf", k_test, predict(model, x_test), threshold)


if __name__ == "__main__":
    errors.run_stage("baseline_text", main)
