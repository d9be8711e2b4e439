import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import quiet_start

# Nothing in the tests may wait on a network that is not there.
os.environ["DVC_NO_ANALYTICS"] = "1"
# The tests' own TensorFlow computes on the kernels the stages use (oneDNN on).
quiet_start.environment()

ROOT = Path(__file__).resolve().parents[1]
# The real raw data, beside the checkout (and beside CI's clone).
SHARED_DATA = ROOT.parent / "shared" / "data"


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of uint8 `array`, as Fashion-MNIST publishes them."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    y = np.arange(40, dtype=np.uint8) % 10
    return x, y


@pytest.fixture
def fashion_dir(tmp_path, images):
    """A Fashion-MNIST raw folder of gzipped IDX files with a few dozen random images."""
    x, y = images
    d = tmp_path / "fashion-mnist"
    d.mkdir()
    for prefix, xs, ys in (("train", x, y), ("t10k", x[:20], y[:20])):
        (d / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(xs)))
        (d / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(ys)))
    return d


WORDS = {
    "k10": "rain umbrella wet drizzle",
    "k11": "snow flakes blizzard",
    "k13": "sunny sunshine bright",
    "k2": "cold freezing chilly",
    "k15": "windy gusts breeze",
}


def make_tweets(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Tweets in the competition's layout; each mentions one kind's words, some two kinds."""
    rng = np.random.default_rng(seed)
    kinds = list(WORDS)
    rows = []
    for i in range(n):
        row = {"id": str(i + 1), "state": "ohio", "location": ""}
        row.update({f"k{j}": 0.0 for j in range(1, 16)})
        chosen = [kinds[i % len(kinds)]] + ([kinds[(i + 2) % len(kinds)]] if i % 3 == 0 else [])
        words = []
        for k in chosen:
            row[k] = float(rng.choice([0.6, 0.8, 1.0]))
            words.append(rng.choice(WORDS[k].split()))
        row["tweet"] = f"so much {' and '.join(words)} today @mention {{link}}"
        rows.append(row)
    cols = ["id", "tweet", "state", "location", *[f"k{j}" for j in range(1, 16)]]
    return pd.DataFrame(rows)[cols]


@pytest.fixture
def tweets_df():
    return make_tweets()
