"""Cross-validated scores of a tweet-model variant, for the choices the validation split cannot
resolve. Macro ROC-AUC averages the kinds, and val (1,359 tweets) holds 1 hurricane, 5 dry and 5
ice tweets: one of five moves its kind's figure by up to 0.2 and the macro figure by 0.013. Here
train and val together (10,871 tweets; never test) are cut into K folds, and a model trained on
K - 1 of them (watching the one left out as its stage watches val) scores the one left out: every
tweet is scored once, by a model that did not learn from it, and each rare kind counts all its
tweets.

    .venv/bin/python -m bench.text_folds charcnn [--folds 5] [--save scores.npy] [KEY=VALUE ...]
    .venv/bin/python -m bench.text_folds tfidf ...   # baseline_text's model, its params as KEY=VALUE

`--as-stage` trains each fold's model as the whole stage does, refit and `average_fits`
included: its own val cut from the fold's training tweets, as preprocess_tweets cuts train and
val (slower, and no model watches the tweets it is scored on):

    .venv/bin/python -m bench.text_folds rnn --as-stage [average_fits=false] --save rnn.npy

`--save` keeps the out-of-fold scores, for `--against` another run's: the difference of the
two variants on the same tweets, with its spread over bootstrap resamples of the tweets. Saved
scores of the ensemble's members choose its weights (train_ensemble.weights), by the rule
`ensemble.choose_weights` states, and show how the mix scores at the params' weights:

    .venv/bin/python -m bench.text_folds ensemble rnn=rnn.npy charcnn=charcnn.npy
"""

import argparse
import os
import time

import numpy as np

from bench import stage_params
from bench.text_choices import BUILD, scratch_dir, section
from pipeline import hardware, params, text_training, training, tweet_evaluation, tweets
from pipeline.models import ensemble, text
from stages import baseline_text


def folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    """`k` disjoint index sets covering range(n), their sizes within one of each other."""
    return np.array_split(np.random.default_rng(seed).permutation(n), k)


def deep_model(name: str, p: dict, threshold: float):
    """Train a fresh `name` model as its stage's first run does (watching the held-out fold as
    the stage watches val), and score the tweets held out."""

    def scored(train: tuple, held: tuple, fold: int) -> np.ndarray:
        training.seed_everything(p["seed"] + fold)
        model = BUILD[name](train[0], p)
        text_training.fit(model, name, p, train, held, threshold)
        return text.predict(model, held[0])

    return scored


def stage_model(name: str, p: dict, threshold: float, val_share: float):
    """Train as the model's whole stage does (text_training.fit_and_refit: the refit and
    `average_fits` too), the fold's training tweets cut into train and val as preprocess_tweets
    cuts them (`val_share` of them val), and score the tweets held out."""

    def scored(train: tuple, held: tuple, fold: int) -> np.ndarray:
        order = np.random.default_rng(p["seed"] + fold).permutation(len(train[0]))
        cut = round(len(order) * (1 - val_share))
        fitted, watched = (tuple(x[i] for x in train) for i in (order[:cut], order[cut:]))
        training.seed_everything(p["seed"] + fold)
        model, _ = text_training.fit_and_refit(name, BUILD[name], p, fitted, watched, threshold)
        return text.predict(model, held[0])

    return scored


def tfidf_model(p: dict):
    """Fit baseline_text's TF-IDF + ridge, its penalty for the tweets fitted, and score the held out."""

    def scored(train: tuple, held: tuple, fold: int) -> np.ndarray:
        model = baseline_text.fit(*train, **params.keywords(baseline_text.fit, p))
        return baseline_text.predict(model, held[0])

    return scored


def out_of_fold(scored, texts: np.ndarray, k: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Each tweet's scores from the model trained on the folds that do not hold it."""
    scores = np.zeros(k.shape, dtype=np.float32)
    for fold, held in enumerate(folds(len(texts), n_folds, seed)):
        rest = np.setdiff1d(np.arange(len(texts)), held)
        scores[held] = scored((texts[rest], k[rest]), (texts[held], k[held]), fold)
    return scores


def paired(k: np.ndarray, ours: np.ndarray, theirs: np.ndarray, threshold: float, draws: int, seed: int) -> str:
    """Our figures minus theirs on the same tweets, and the 5th-95th percentiles of that
    difference over bootstrap resamples of the tweets."""
    keys = ("roc_auc_micro", "roc_auc_macro", "rmse")

    def diff(i):
        a = tweet_evaluation.text_metrics(k[i], ours[i], threshold)
        b = tweet_evaluation.text_metrics(k[i], theirs[i], threshold)
        return [a[key] - b[key] for key in keys]

    rng = np.random.default_rng(seed)
    spread = np.percentile([diff(rng.integers(0, len(k), len(k))) for _ in range(draws)], [5, 95], axis=0)
    whole = diff(np.arange(len(k)))
    rows = zip(keys, whole, *spread, strict=True)
    return "; ".join(f"{key} {d:+.4f} [{lo:+.4f}, {hi:+.4f}]" for key, d, lo, hi in rows)


def ensemble_weights(saved: dict[str, np.ndarray], k: np.ndarray, threshold: float, p: dict) -> str:
    """The weights `ensemble.choose_weights` finds on the members' out-of-fold scores `saved`,
    and the figures of the mix with those and with train_ensemble's `weights` (params `p`)."""
    if sorted(saved) != sorted(p["members"]):
        raise SystemExit(f"ensemble: scores of {sorted(saved)}; train_ensemble.members is {p['members']}")
    for name, scores in saved.items():
        if scores.shape != k.shape:
            raise SystemExit(f"ensemble: {name}'s scores of shape {scores.shape}, these tweets need {k.shape}")
    chosen, found = ensemble.choose_weights(saved, k, threshold)
    _, at_params, _ = ensemble.fit(saved, k, threshold, **params.keywords(ensemble.fit, p))

    def shown(m: dict) -> str:
        return f"micro ROC-AUC {m['roc_auc_micro']:.5f} macro {m['roc_auc_macro']:.5f} RMSE {m['rmse']:.5f}"

    members = "; ".join(f"{name} {shown(found[name])}" for name in sorted(saved))
    return (
        f"RESULT ensemble out of fold: chosen {chosen}: {shown(found['ensemble'])}; "
        f"at train_ensemble.weights {dict(zip(p['members'], p['weights'], strict=True))}: "
        f"{shown(at_params['ensemble'])} ({members})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--save", help="write the out-of-fold scores here (.npy)")
    parser.add_argument("--against", help="another variant's saved out-of-fold scores, to compare with")
    parser.add_argument("--draws", type=int, default=200, help="bootstrap resamples for --against")
    parser.add_argument(
        "--as-stage",
        action="store_true",
        help="train as the whole stage does (its own val cut from each fold's training tweets, the refit, "
        "average_fits), not as its first run alone",
    )
    args, rest = parser.parse_known_args()
    if args.folds < 2:
        raise SystemExit(f"--folds {args.folds}: need at least 2 folds")
    threshold = params.load("evaluate")["roc_threshold"]
    if rest[:1] == ["ensemble"]:
        pairs = [arg.split("=", 1) for arg in rest[1:]]
        if not pairs or any(len(pair) != 2 for pair in pairs):
            raise SystemExit(f"ensemble {' '.join(rest[1:])}: give each member's saved scores as NAME=FILE.npy")
        k = np.concatenate([tweets.load_prepared(split)[1] for split in ("train", "val")])
        saved = {name: np.load(path) for name, path in pairs}
        print(ensemble_weights(saved, k, threshold, params.load("train_ensemble")), flush=True)
        return
    if rest[:1] == ["tfidf"]:
        if args.as_stage:
            raise SystemExit("--as-stage follows a deep model's stage (rnn, charcnn); tfidf has no fit to follow")
        name, overrides, p = "tfidf", rest[1:], stage_params("baseline_text", rest[1:])
        scored = tfidf_model(p)
    else:
        name, overrides, p = section(rest)
        if args.as_stage:
            split = params.load("preprocess")["tweets"]
            scored = stage_model(name, p, threshold, split["val_fraction"] / (1 - split["test_fraction"]))
        else:
            scored = deep_model(name, p, threshold)
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    texts, k = (np.concatenate(pair) for pair in zip(train, val, strict=True))
    save = os.path.abspath(args.save) if args.save else None  # before scratch_dir moves away
    against = np.load(args.against) if args.against else None
    if against is not None and against.shape != k.shape:
        raise SystemExit(f"--against {args.against}: scores of shape {against.shape}, these tweets need {k.shape}")
    hardware.start(f"text_folds {name}")
    start = time.perf_counter()
    scratch_dir()
    scores = out_of_fold(scored, texts, k, args.folds, p["seed"])
    found = tweet_evaluation.text_metrics(k, scores, threshold)
    present = (k >= threshold).sum(axis=0)
    auc = found["roc_auc_per_kind"]
    counted = zip(tweets.KINDS, present, strict=True)
    per_kind = ", ".join(f"{kind} {auc.get(kind, np.nan):.3f} ({n})" for kind, n in counted)
    print(
        f"RESULT {name} {overrides}: {args.folds}-fold, {len(k)} tweets out of fold: micro ROC-AUC "
        f"{found['roc_auc_micro']:.4f} macro {found['roc_auc_macro']:.4f} RMSE {found['rmse']:.4f} "
        f"({time.perf_counter() - start:.0f} s); per kind (tweets with it): {per_kind}",
        flush=True,
    )
    if save:
        np.save(save, scores)
    if against is not None:
        diff = paired(k, scores, against, threshold, args.draws, p["seed"])
        print(f"DIFF against {args.against}: {diff}", flush=True)


if __name__ == "__main__":
    main()
