"""preprocess: data/raw/ -> data/prepared/ (validated, split, compact) and metrics/data.json."""

from pathlib import Path

import numpy as np

from pipeline import fashion, files, idx, params, runtime, tweets

RAW = Path("data/raw")
TWEETS_OUT = tweets.PREPARED
# download.tweets -> the files it fetches (data/manifest.yaml), read as one table.
TWEETS_FILES = {
    "mirror": ("train_first8000.csv", "train_rows10000-15588.csv"),
    "first8000": ("train_first8000.csv",),
    "full": ("train.csv",),
}
STATS = Path("metrics/data.json")


def prepare_fashion(p: dict) -> dict:
    raw = RAW / "fashion-mnist"
    x, y = idx.read_images_labels(raw / "train-images-idx3-ubyte.gz", raw / "train-labels-idx1-ubyte.gz")
    x_test, y_test = idx.read_images_labels(raw / "t10k-images-idx3-ubyte.gz", raw / "t10k-labels-idx1-ubyte.gz")
    x_train, x_val, y_train, y_val = fashion.split_train_val(x, y, p["val_fraction"], p["seed"])
    splits = {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}
    for name in fashion.SPLITS:
        limit = p[f"max_{name}"]
        if limit:
            splits[name] = tuple(a[:limit] for a in splits[name])
    fashion.save(fashion.PREPARED, splits)
    return {
        name: {
            "rows": len(yy),
            "per_class": {c: int(n) for c, n in zip(fashion.CLASSES, np.bincount(yy, minlength=10), strict=True)},
        }
        for name, (_, yy) in splits.items()
    }


def prepare_tweets(p: dict, sources: list[Path]) -> dict:
    df, report = tweets.clean(tweets.read_all(sources))
    if p["max_rows"]:
        df = df.iloc[: p["max_rows"]]
    parts = tweets.split(df, p["test_fraction"], p["val_fraction"], p["seed"])
    stats = {"source": " + ".join(path.name for path in sources), **report}
    for name, part in zip(("train", "val", "test"), parts, strict=True):
        with files.replacing(TWEETS_OUT / f"{name}.csv") as tmp:
            part.to_csv(tmp, index=False)
        k = tweets.labels(part)
        sums = k.sum(axis=1)
        stats[name] = {
            "rows": len(part),
            "kind_present": {kind: int(n) for kind, n in zip(tweets.KINDS, (k >= 0.5).sum(axis=0), strict=True)},
            "kind_sum": {
                "mean": round(float(sums.mean()), 4),
                "max": round(float(sums.max()), 4),
                "share_above_1": round(float((sums > 1.0 + 1e-6).mean()), 4),
            },
        }
    return stats


def main() -> None:
    p = params.load("preprocess")
    sources = [RAW / "weather-tweets" / name for name in TWEETS_FILES[params.load("download")["tweets"]]]
    stats = {
        "fashion": prepare_fashion({"seed": p["seed"], **p["fashion"]}),
        "tweets": prepare_tweets({"seed": p["seed"], **p["tweets"]}, sources),
    }
    files.write_json(STATS, stats)


if __name__ == "__main__":
    runtime.main("preprocess", main, (idx.IdxError, tweets.TweetsError))
