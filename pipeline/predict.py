"""Apply a trained model to new data and write its predictions as CSV.

MODEL is a .keras file written by a train_* stage or an exported model's folder (a version
folder, or data/exported/<model>, whose highest version is used); both give the same CSV.

python -m pipeline.predict images data/models/cnn.keras IMAGES OUT.csv
    IMAGES: an IDX file (gzipped or not) or a .npy of uint8 images, shape (N, 28, 28)
    OUT.csv: index, class, class_name, then one probability column per class
python -m pipeline.predict tweets data/exported/rnn TWEETS.csv OUT.csv
    TWEETS.csv: any CSV with a `tweet` column
    OUT.csv: the input's id column if it has one, then one probability column per kind
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import fashion, files, idx, tweets


class InputError(ValueError):
    pass


def read_images(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        try:
            x = np.load(path, allow_pickle=False)
        except ValueError as e:
            raise InputError(f"{path}: not a plain .npy array ({e})") from e
    else:
        x = idx.read(path)
    if x.dtype != np.uint8:
        raise InputError(f"{path}: images must be uint8 (0..255), got {x.dtype}; convert with .astype('uint8')")
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise InputError(f"{path}: images must have shape (N, 28, 28), got {x.shape}")
    return x


def predict_images(model, x: np.ndarray) -> pd.DataFrame:
    probs = model(x)
    out = pd.DataFrame({"class": probs.argmax(axis=1)})
    out["class_name"] = np.array(fashion.CLASSES)[out["class"]]
    for i, name in enumerate(fashion.CLASSES):
        out[f"p_{name}"] = probs[:, i].round(6)
    out.index.name = "index"
    return out


def read_tweets(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype={"tweet": object}, keep_default_na=False)
    except pd.errors.EmptyDataError as e:
        raise InputError(f"{path}: the file is empty; expected a CSV with a `tweet` column") from e
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: malformed CSV ({e})") from e
    if "tweet" not in df.columns:
        raise InputError(f"{path}: no `tweet` column (columns: {', '.join(map(str, df.columns))})")
    if df.empty:
        raise InputError(f"{path}: has a header but no rows")
    return df


def predict_tweets(model, df: pd.DataFrame) -> pd.DataFrame:
    from pipeline.models import text

    texts = df["tweet"].to_numpy(dtype=object)
    try:
        text.as_strings(texts)  # the check the tweet models' own input path makes
    except TypeError as e:
        raise InputError(f"`tweet` column: {e}") from e
    out = pd.DataFrame(model(texts).round(6), columns=tweets.KINDS)
    if "id" in df.columns:
        out.insert(0, "id", df["id"].to_numpy())
    return out


def open_model(path: Path):
    """(what the model takes, "images" or "tweets"; a function from a batch to its class
    probabilities or kind scores) for a .keras file or an exported model's folder."""
    if path.is_dir():
        from pipeline import export

        served = export.Served(path)
        output = {"images": "probabilities", "tweets": "scores"}.get(served.takes())
        return served.takes(), lambda batch: served(np.asarray(batch, dtype=str if output == "scores" else None))[
            output
        ]
    from pipeline import training

    model = training.load(path)
    kind = training.kind(model)
    if kind == "tweets":
        from pipeline.models import text

        return "tweets", lambda texts: text.predict(model, texts)
    from pipeline import batches

    return ("autoencoder" if kind == "autoencoder" else "images"), lambda x: model.predict(
        batches.of_arrays(x, batch_size=512), verbose=0
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["images", "tweets"])
    parser.add_argument(
        "model", type=Path, help="a .keras file written by a train_* stage, or an exported model's folder"
    )
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    if not args.model.exists():
        parser.error(f"{args.model}: no such file or folder")
    if not args.input.is_file():
        parser.error(f"{args.input}: no such file")
    try:
        data = read_images(args.input) if args.kind == "images" else read_tweets(args.input)
        # TensorFlow takes seconds to import: only once the input has been found good.
        from pipeline import quiet_start

        quiet_start.tensorflow()
        takes, model = open_model(args.model)
        if takes == "autoencoder":
            raise InputError(f"{args.model} is the autoencoder: it gives images, not predictions for a CSV")
        if takes != args.kind:
            raise InputError(f"{args.model} takes {takes}: run `python -m pipeline.predict {takes} ...`")
        out = predict_images(model, data) if args.kind == "images" else predict_tweets(model, data)
    except (InputError, idx.IdxError, FileNotFoundError) as e:
        # One line whatever the input held: a column name or a value can carry line breaks.
        print("predict: " + " ".join(str(e).splitlines()), file=sys.stderr)
        return 2
    with files.replacing(args.output) as tmp:
        out.to_csv(tmp, index=args.kind == "images")
    print(f"predict: {len(out)} rows -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
