"""preprocess_tweets: data/raw/weather-tweets -> data/prepared/tweets (the chosen files as one
table, bad rows dropped, split) and metrics/data/tweets.json."""

from pathlib import Path

from pipeline import errors, files, params, tweets

RAW = Path("data/raw/weather-tweets")
# download.tweets -> the files it fetches (data/manifest.yaml), read as one table.
SOURCES = {
    "mirror": ("train_first8000.csv", "train_rows10000-15588.csv"),
    "first8000": ("train_first8000.csv",),
    "full": ("train.csv",),
}
STATS = Path("metrics/data/tweets.json")


def prepare(p: dict, sources: list[Path]) -> dict:
    df, report = tweets.clean(tweets.read_all(sources))
    if p["max_rows"]:
        df = df.iloc[: p["max_rows"]]
    parts = tweets.split(df, p["test_fraction"], p["val_fraction"], p["seed"])
    stats = {"source": " + ".join(path.name for path in sources), **report}
    for name, part in zip(("train", "val", "test"), parts, strict=True):
        with files.replacing(tweets.PREPARED / f"{name}.csv") as tmp:
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
    sources = [RAW / name for name in SOURCES[params.load("download")["tweets"]]]
    files.write_json(STATS, prepare({"seed": p["seed"], **p["tweets"]}, sources))


if __name__ == "__main__":
    errors.run_stage("preprocess_tweets", main, (tweets.TweetsError,))
