"""Fitting the tweet models: targets per loss, early stopping on the validation micro ROC-AUC,
the refit on train + val with the schedule chosen on val (stages train_rnn, train_charcnn), and
the weights of their ensemble, chosen on val (train_ensemble).

`softmax` trains with cross-entropy on the renormalised fractions (pipeline.tweets.
softmax_targets); `sigmoid` with binary cross-entropy on the fractions as given.

Each tweet model starts with one layer that turns strings into ids (characters, word or subword
ids); the rest of it, which shares the model's weights, is what is fitted, on ids that the input
pipeline makes batch by batch (each batch padded to its own longest tweet, as inside the model).
That is what lets a model train under tf.distribute: string tensors cannot be split across
replicas.
"""

from __future__ import annotations

import itertools

import keras
import numpy as np
import tensorflow as tf

from pipeline import evaluation, files, params, runtime, training, tweets
from pipeline.models.text import as_strings


def loss_fn(loss: str) -> keras.losses.Loss:
    if loss == "softmax":
        return keras.losses.CategoricalCrossentropy()
    if loss == "sigmoid":
        return keras.losses.BinaryCrossentropy()
    raise ValueError(f"loss: got {loss!r}, allowed values: softmax, sigmoid")


def compile(model: keras.Model, loss: str, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss_fn(loss),
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
    )


def split(model: keras.Model) -> tuple[keras.layers.Layer, keras.Model]:
    """(the layer that turns the model's strings into ids, the rest of the model from those ids)."""
    vectorize = model.get_layer(index=1)
    if vectorize.input is not model.inputs[0]:
        raise ValueError(f"{model.name}: its second layer does not read the tweet strings")
    return vectorize, keras.Model(vectorize.output, model.output, name=f"{model.name}_from_ids")


def predict(model: keras.Model, texts, batch_size: int = 512):
    """Kind scores (N, 15) of a model being trained, through its ids; the same as
    pipeline.models.text.predict on the whole model, which a tf.distribute scope cannot run."""
    vectorize, core = split(model)
    return core.predict(dataset(texts, None, batch_size, vectorize=vectorize), verbose=0)


def dataset(texts, targets, batch_size: int, shuffle_seed: int | None = None, vectorize=None):
    """Batches of (tweet strings, targets), reshuffled each epoch when given a seed; with
    `vectorize` (a model's string-to-ids layer), of (ids, targets). targets=None: inputs only."""
    ds = tf.data.Dataset.from_tensor_slices(as_strings(texts) if targets is None else (as_strings(texts), targets))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(texts), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if vectorize is not None:
        ds = ds.map(vectorize if targets is None else lambda x, y: (vectorize(x), y))
    return ds


class ValidationAUC(keras.callbacks.Callback):
    """Adds `val_auc_micro`, the micro ROC-AUC on the validation tweets, to each epoch's logs.

    The goal metric, scored as `evaluate` scores the test split (a kind present when its
    fraction >= threshold). Early stopping can watch it: on the validation split it kept rising
    for 3-4 epochs after the validation loss had turned, while the model learned the kinds with
    a handful of training tweets (hurricane, ice), which the loss barely weighs.
    """

    def __init__(self, texts, k, threshold: float, vectorize=None):
        super().__init__()
        present = np.asarray(k) >= threshold
        if present.all() or not present.any():
            raise ValueError(
                f"micro ROC-AUC is undefined on this validation split: {'every' if present.all() else 'no'} "
                f"(tweet, kind) pair has a fraction >= {threshold}; use more rows or monitor: val_loss"
            )
        self.inputs, self.k, self.threshold = dataset(texts, None, 512, vectorize=vectorize), k, threshold

    def on_epoch_end(self, epoch, logs=None):
        found = self.model.predict(self.inputs, verbose=0)
        logs["val_auc_micro"] = evaluation.text_metrics(self.k, found, self.threshold)["roc_auc_micro"]


def train_targets(pair: tuple, p: dict) -> tuple:
    """(texts, the targets `p["loss"]` trains on) of a (texts, kind fractions) pair."""
    return pair[0], tweets.targets(pair[1], p["loss"])


MONITOR_MODE = {"val_loss": "min", "val_auc_micro": "max"}


def fit(model: keras.Model, name: str, p: dict, train, val, threshold: float) -> list[float]:
    """Train on (texts, kind fractions) pairs with the targets `p["loss"]` needs, keeping the
    weights of the epoch with the best `p["monitor"]` on the validation split. Returns the
    learning rate of each epoch up to that best one: the schedule `refit` replays."""
    mode = MONITOR_MODE[p["monitor"]]
    vectorize, core = split(model)
    # In this order: the learning-rate schedule, dvclive and early stopping all read
    # val_auc_micro, and dvclive logs the learning rate.
    callbacks = [
        ValidationAUC(*val, threshold, vectorize),
        *(
            [keras.callbacks.ReduceLROnPlateau(p["monitor"], 0.5, p["lr_patience"], mode=mode, min_delta=0)]
            if p["lr_patience"]
            else []
        ),
        *training.callbacks(name, p["patience"], p["monitor"], mode),
    ]
    compile(core, p["loss"], p["learning_rate"])
    history = core.fit(
        dataset(*train_targets(train, p), p["batch_size"], p["seed"], vectorize),
        validation_data=dataset(*train_targets(val, p), p["batch_size"], vectorize=vectorize),
        epochs=p["epochs"],
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself, seeded
        verbose=2,
    )
    # The model holds the weights of early stopping's best epoch, or of the last one without it.
    stopping = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
    kept = stopping[0].best_epoch + 1 if stopping else len(history.epoch)
    return history.history.get("learning_rate", [p["learning_rate"]] * kept)[:kept]


def refit(build, p: dict, train, val, learning_rates: list[float], callbacks=()) -> keras.Model:
    """A fresh model from `build(texts, p)`, trained on train and val together with the epochs
    and learning rates `fit` chose on val alone: the model then learns from the validation
    tweets too (1/7 more with the default split).
    On a split of the training tweets (bench/text_refit.py) this raised validation micro ROC-AUC."""
    texts, k = (np.concatenate(pair) for pair in zip(train, val, strict=True))
    keras.utils.set_random_seed(p["seed"])
    model = build(texts, p)
    vectorize, core = split(model)
    compile(core, p["loss"], learning_rates[0])
    core.fit(
        dataset(*train_targets((texts, k), p), p["batch_size"], p["seed"], vectorize),
        epochs=len(learning_rates),
        callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch: learning_rates[epoch]), *callbacks],
        shuffle=False,
        verbose=2,
    )
    return model


def train(name: str, from_params) -> None:
    """The whole of a tweet model's stage: fit on train with early stopping on val, keep the
    validation scores of that model (the ensemble's weights are chosen on them: the refitted
    model has seen val), then refit on train + val if `refit`, and save."""
    p = params.load(f"train_{name}")
    threshold = params.load("evaluate")["roc_threshold"]
    strategy = runtime.start(f"train_{name}", distribute=p["distribute"])
    training.seed_everything(p["seed"])
    train_split, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    with strategy.scope():
        model = from_params(train_split[0], p)
        learning_rates = fit(model, name, p, train_split, val, threshold)
        val_scores = predict(model, val[0])
    files.save_npy(training.val_scores_path(name), val_scores.astype("float32"))
    if p["refit"]:
        with strategy.scope():
            model = refit(from_params, p, train_split, val, learning_rates)
    training.save(model, name)


def ensemble_weights(scores: dict[str, np.ndarray], k: np.ndarray, threshold: float, step: float):
    """The weights (summing to 1, multiples of `step`) of the members' scores whose mean scores
    best on the validation split: highest micro ROC-AUC, then lowest RMSE, then nearest to equal
    weights. Returns (weights by member, the validation figures of every member and of the
    chosen mix)."""
    names = sorted(scores)
    units = round(1 / step)
    if not np.isclose(units * step, 1.0):
        raise params.ParamsError(
            f"train_ensemble.weight_step: {step} does not divide 1 into equal steps; use e.g. 0.05"
        )
    best, best_key = None, None
    for combo in itertools.product(range(units + 1), repeat=len(names)):
        if sum(combo) != units:
            continue
        w = np.array(combo) / units
        mixed = sum(wi * scores[n] for wi, n in zip(w, names, strict=True))
        m = evaluation.text_metrics(k, mixed, threshold)
        key = (-m["roc_auc_micro"], m["rmse"], float(np.abs(w - 1 / len(names)).sum()))
        if best_key is None or key < best_key:
            best, best_key = dict(zip(names, (float(x) for x in w), strict=True)), key
    mixed = sum(best[n] * scores[n] for n in names)
    figures = {n: evaluation.text_metrics(k, scores[n], threshold) for n in names}
    figures["ensemble"] = evaluation.text_metrics(k, mixed, threshold)
    return best, {n: {key: f[key] for key in ("roc_auc_micro", "roc_auc_macro", "rmse")} for n, f in figures.items()}
