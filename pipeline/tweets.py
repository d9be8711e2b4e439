"""The weather-tweets CSV: reading and validating it, the bad-row policy, the soft labels.

Bad-row policy (each count is reported in metrics/data/tweets.json):
- a row whose tweet is missing or blank is dropped: there is nothing to learn from;
- a row with a kind value that is not a number, or lies outside [0, 1], is dropped: the label
  is unusable and guessing it would teach the models a made-up target;
- a row whose kinds sum to 0 is dropped: it has no distribution for the softmax loss to
  renormalise, and the annotators always picked at least one kind in the published data;
- surrounding white space in a tweet is stripped (counted as fixed).
The kind fractions are kept as given; `softmax_targets` renormalises them for the softmax loss.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

KIND_COLUMNS = [f"k{i}" for i in range(1, 16)]
KINDS = [
    "clouds", "cold", "dry", "hot", "humid", "hurricane", "cant_tell", "ice",
    "other", "rain", "snow", "storms", "sun", "tornado", "wind",
]  # fmt: skip
REQUIRED = ["id", "tweet", *KIND_COLUMNS]


class TweetsError(ValueError):
    pass


def read(path: Path | str) -> pd.DataFrame:
    """The CSV's id, tweet and k1..k15 columns, all as text, so validation sees the raw values."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise TweetsError(f"{path}: malformed CSV ({e}); check its quoting and encoding") from e
    except pd.errors.EmptyDataError as e:
        raise TweetsError(f"{path}: the file is empty; expected a header with {REQUIRED}") from e
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise TweetsError(f"{path}: missing columns {missing}; expected at least {', '.join(REQUIRED)}")
    return df[REQUIRED]


def read_all(paths: list[Path]) -> pd.DataFrame:
    """Several slices of one CSV (the same columns), read as one table in the order given. Two
    slices that share an id are an error: they would put one tweet in two splits."""
    parts = [read(path) for path in paths]
    df = pd.concat(parts, ignore_index=True)
    ids = df["id"].str.strip()
    repeated = ids[ids.duplicated()]
    if len(paths) > 1 and len(repeated):
        where = [
            str(path)
            for path, part in zip(paths, parts, strict=True)
            if repeated.iloc[0] in set(part["id"].str.strip())
        ]
        raise TweetsError(
            f"id {repeated.iloc[0]} appears more than once in {' and '.join(where)} ({len(repeated)} repeated ids); "
            "the files must be disjoint slices of train.csv"
        )
    return df


def clean(df: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Apply the bad-row policy; return the clean rows (kinds as floats) and what was done."""
    tweet = df["tweet"].astype(str)
    stripped = tweet.str.strip()
    kinds = df[KIND_COLUMNS].apply(pd.to_numeric, errors="coerce")
    no_text = stripped == ""
    not_number = kinds.isna().any(axis=1)
    out_of_range = ~not_number & ((kinds < 0) | (kinds > 1)).any(axis=1)
    zero_sum = ~not_number & ~out_of_range & (kinds.sum(axis=1) == 0)
    drop = no_text | not_number | out_of_range | zero_sum
    report = {
        "rows_read": int(len(df)),
        "dropped_missing_text": int(no_text.sum()),
        "dropped_kind_not_a_number": int((not_number & ~no_text).sum()),
        "dropped_kind_out_of_range": int((out_of_range & ~no_text).sum()),
        "dropped_kind_sum_zero": int((zero_sum & ~no_text).sum()),
        "fixed_whitespace": int(((stripped != tweet) & ~drop).sum()),
    }
    clean = pd.DataFrame({"id": df["id"], "tweet": stripped})
    clean[KIND_COLUMNS] = kinds.astype("float64")
    clean = clean[~drop].reset_index(drop=True)
    report["rows_kept"] = int(len(clean))
    return clean, report


def split(df: pd.DataFrame, test_fraction: float, val_fraction: float, seed: int):
    """A seeded random train/val/test split; val and test sizes are fractions of all rows."""
    order = np.random.default_rng(seed).permutation(len(df))
    n_test = round(len(df) * test_fraction)
    n_val = round(len(df) * val_fraction)
    if len(df) - n_test - n_val < 1 or n_test < 1 or n_val < 1:
        raise TweetsError(
            f"{len(df)} rows cannot be split into non-empty train, val and test sets with "
            f"test_fraction={test_fraction} and val_fraction={val_fraction}"
        )
    test, val, train = np.split(order, [n_test, n_test + n_val])
    return tuple(df.iloc[np.sort(i)].reset_index(drop=True) for i in (train, val, test))


def labels(df: pd.DataFrame) -> np.ndarray:
    return df[KIND_COLUMNS].to_numpy(dtype="float32")


def softmax_targets(k: np.ndarray) -> np.ndarray:
    """Each row divided by its sum: the distribution over kinds that softmax cross-entropy needs
    (30% of real rows sum to more than 1 because annotators could pick several kinds)."""
    k = np.asarray(k, dtype="float32")
    total = k.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise TweetsError("a row's kinds sum to 0; preprocess_tweets drops such rows before training")
    return k / total


def targets(k: np.ndarray, loss: str) -> np.ndarray:
    """Training targets for `loss`: renormalised for softmax, the fractions as given for sigmoid."""
    return softmax_targets(k) if loss == "softmax" else np.asarray(k, dtype="float32")


PREPARED = Path("data/prepared/tweets")


def load_prepared(split: str, root: Path = PREPARED) -> tuple[np.ndarray, np.ndarray]:
    """(tweets as an array of str, kind fractions float32 (N, 15)) of one prepared split."""
    path = root / f"{split}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; run `dvc repro preprocess_tweets` first")
    df = pd.read_csv(path, dtype={"tweet": str}, keep_default_na=False)
    return df["tweet"].to_numpy(dtype=object), labels(df)
