"""Validation scores of tweet-model variants, to choose train_rnn / train_charcnn params.
Trains on data/prepared/tweets/train.csv and scores on val.csv (never on test).

    .venv/bin/python bench/text_choices.py rnn loss=softmax units=128 ...
"""

import sys
import time
from pathlib import Path

import keras
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline import evaluation, params, training, tweets  # noqa: E402
from pipeline.models import charcnn, rnn, text  # noqa: E402


def main() -> None:
    name, overrides = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
    p = params.load(f"train_{name}")
    p.update({k: yaml.safe_load(v) for k, v in overrides.items()})
    training.seed_everything(p["seed"])
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    start = time.perf_counter()
    model = {"rnn": rnn, "charcnn": charcnn}[name].from_params(train[0], p)
    text.compile(model, p["loss"], p["learning_rate"])
    # As the stage trains (pipeline.models.text.fit), without dvclive writing into metrics/.
    model.fit(
        text.dataset(train[0], tweets.targets(train[1], p["loss"]), p["batch_size"], p["seed"]),
        validation_data=text.dataset(val[0], tweets.targets(val[1], p["loss"]), p["batch_size"]),
        epochs=p["epochs"], shuffle=False, verbose=0,
        callbacks=[
            text.ValidationAUC(*val, params.load("evaluate")["roc_threshold"]),
            keras.callbacks.EarlyStopping(p["monitor"], patience=p["patience"], mode=text.MONITOR_MODE[p["monitor"]],
                                          restore_best_weights=True),
        ],
    )  # fmt: skip
    m = evaluation.text_metrics(val[1], text.predict(model, val[0]), 0.5)
    print(f"{name} {overrides}: val micro AUC {m['roc_auc_micro']:.4f} macro {m['roc_auc_macro']:.4f} "
          f"RMSE {m['rmse']:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
