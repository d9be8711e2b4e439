"""Apply a trained model to new data and write its predictions as CSV.

python -m pipeline.predict images data/models/cnn.keras IMAGES OUT.csv
    IMAGES: an IDX file (gzipped or not) or a .npy of uint8 images, shape (N, 28, 28)
    OUT.csv: index, class, class_name, then one probability column per class
python -m pipeline.predict tweets data/models/rnn.keras TWEETS.csv OUT.csv
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
    probs = model.predict(x, batch_size=512, verbose=0)
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

    try:
        scores = text.predict(model, df["tweet"].to_numpy(dtype=object))
    except TypeError as e:
        raise InputError(f"`tweet` column: {e}") from e
    out = pd.DataFrame(scores.round(6), columns=tweets.KINDS)
    if "id" in df.columns:
        out.insert(0, "id", df["id"].to_numpy())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["images", "tweets"])
    parser.add_argument("model", type=Path, help="a .keras file written by a train_* stage")
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    for path in (args.model, args.input):
        if not path.is_file():
            parser.error(f"{path}: no such file")
    try:
        data = read_images(args.input) if args.kind == "images" else read_tweets(args.input)
        # TensorFlow takes seconds to import: only once the input has been found good.
        from pipeline import runtime

        runtime.quiet_tensorflow()
        from pipeline import training

        model = training.load(args.model)
        takes_text = model.inputs[0].dtype == "string"
        if takes_text != (args.kind == "tweets"):
            raise InputError(
                f"{args.model} takes {'tweets' if takes_text else 'images'}: "
                f"run `python -m pipeline.predict {'tweets' if takes_text else 'images'} ...`"
            )
        out = predict_images(model, data) if args.kind == "images" else predict_tweets(model, data)
    except (InputError, idx.IdxError) as e:
        # One line whatever the input held: a column name or a value can carry line breaks.
        print("predict: " + " ".join(str(e).splitlines()), file=sys.stderr)
        return 2
    with files.replacing(args.output) as tmp:
        out.to_csv(tmp, index=args.kind == "images")
    print(f"predict: {len(out)} rows -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
