"""Validation scores of tweet-model variants, to choose train_rnn / train_charcnn params.
Trains on data/prepared/tweets/train.csv and scores on val.csv (never on test).

    .venv/bin/python bench/text_choices.py rnn loss=softmax units=128 ...
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline import evaluation, params, training, tweets  # noqa: E402
from pipeline.models import charcnn, rnn, text  # noqa: E402


def main() -> None:
    name, overrides = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
    p = params.load(f"train_{name}")
    p.update({k: yaml.safe_load(v) for k, v in overrides.items()})
    threshold = params.load("evaluate")["roc_threshold"]
    training.seed_everything(p["seed"])
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    start = time.perf_counter()
    model = {"rnn": rnn, "charcnn": charcnn}[name].from_params(train[0], p)
    # Trained exactly as the stage trains; its dvclive curves go to a scratch folder, not metrics/.
    os.chdir(tempfile.mkdtemp(prefix="text_choices_"))
    text.fit(model, name, p, train, val, threshold)
    m = evaluation.text_metrics(val[1], text.predict(model, val[0]), threshold)
    print(f"{name} {overrides}: val micro AUC {m['roc_auc_micro']:.4f} macro {m['roc_auc_macro']:.4f} "
          f"RMSE {m['rmse']:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
