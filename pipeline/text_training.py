"""Fitting the tweet models: targets per loss, early stopping on the validation micro ROC-AUC,
and the refit on train + val with the schedule chosen on val (stage train_tweets, for the RNN
and the char CNN; their ensemble is pipeline.models.ensemble).

`softmax` trains with cross-entropy on the renormalised fractions (pipeline.tweets.
softmax_targets); `sigmoid` with binary cross-entropy on the fractions as given, the rare kinds
weighted up by `positive_weight_power` (PositiveWeightedBCE).

Each tweet model starts with one layer that turns strings into ids (characters, word or subword
ids); the rest of it, which shares the model's weights, is what is fitted, on ids that the input
pipeline makes batch by batch (each batch padded to its own longest tweet, as inside the model).
That is what lets a model train under tf.distribute: string tensors cannot be split across
replicas.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from pipeline import batches, files, flops, hardware, optimizers, outputs, params, training, tweet_evaluation, tweets
from pipeline.models import text


@keras.saving.register_keras_serializable("pipeline")
class PositiveWeightedBCE(keras.losses.Loss):
    """Binary cross-entropy per kind with kind j's positive term weighted by `weights[j]` and
    scored at the logit plus log `weights[j]`. The weight makes a kind that few tweets have
    count for more of the gradient: where the model gives kind j a low probability, its
    positives and negatives alike pull `weights[j]` times harder. The offset keeps the
    loss's minimum at the annotators' fraction (weighted cross-entropy alone would move it to
    w*y / (w*y + 1 - y)), so the model's probabilities stay calibrated and its RMSE comparable."""

    def __init__(self, weights, name: str = "positive_weighted_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weights = [float(w) for w in weights]

    def get_config(self) -> dict:
        return {**super().get_config(), "weights": self.weights}

    def call(self, y_true, y_pred):
        weights = np.asarray(self.weights, "float32")
        # The sigmoid's own logits where Keras kept them (as its BinaryCrossentropy does), else
        # recovered from the probabilities, clipped as Keras clips them.
        logits = getattr(y_pred, "_keras_logits", None)
        if logits is None:
            p = ops.clip(y_pred, keras.config.epsilon(), 1 - keras.config.epsilon())
            logits = ops.log(p) - ops.log1p(-p)
        z = logits + np.log(weights)
        y_true = ops.cast(y_true, z.dtype)
        return ops.mean(weights * y_true * ops.softplus(-z) + (1 - y_true) * ops.softplus(z), axis=-1)


def positive_weights(k: np.ndarray, power: float) -> np.ndarray:
    """((1 - m) / m) ** power per kind, m the kind's mean fraction over the tweets `k` (at
    least 1e-4, so a kind no tweet has gets a finite weight)."""
    m = np.clip(np.asarray(k, "float64").mean(axis=0), 1e-4, 1 - 1e-4)
    return ((1 - m) / m) ** power


def loss_fn(loss: str, weights=None) -> keras.losses.Loss:
    """The loss `loss` names; with `weights` (sigmoid only), PositiveWeightedBCE's per kind."""
    if loss not in ("softmax", "sigmoid"):
        raise ValueError(f"loss: got {loss!r}, allowed values: softmax, sigmoid")
    if weights is not None:
        if loss != "sigmoid":
            raise ValueError("positive weights are for the sigmoid loss; set positive_weight_power: 0 or loss: sigmoid")
        return PositiveWeightedBCE(weights)
    return keras.losses.CategoricalCrossentropy() if loss == "softmax" else keras.losses.BinaryCrossentropy()


def loss_weights(p: dict, k: np.ndarray):
    """The per-kind weights of `p["positive_weight_power"]` for training on the fractions `k`,
    or None (plain cross-entropy) at 0."""
    return positive_weights(k, p["positive_weight_power"]) if p["positive_weight_power"] else None


OPTIMIZERS = {"adam": keras.optimizers.Adam, "lazy_adam": optimizers.LazyAdam}


def compile_model(model: keras.Model, loss: str, learning_rate, optimizer: str, weights=None) -> None:
    """`optimizer` (a key of OPTIMIZERS) at `learning_rate`: a number, or a schedule of the steps
    (learning_rate below); `weights`: loss_fn's."""
    model.compile(
        optimizer=OPTIMIZERS[optimizer](learning_rate),
        loss=loss_fn(loss, weights),
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
    )


def learning_rate(p: dict, n_train: int):
    """What Adam trains with under `p["schedule"]`, for `n_train` tweets an epoch:
    - plateau: `learning_rate`, constant, halved after `lr_patience` epochs without a better
      `monitor` (ReduceLROnPlateau, in `fit`; 0 = constant throughout);
    - one_cycle: training.one_cycle over `epochs` epochs (`warmup` of them warming up).
    params.load refuses a `warmup` with plateau and an `lr_patience` with one_cycle."""
    if p["schedule"] == "plateau":
        return p["learning_rate"]
    return training.one_cycle(p["learning_rate"], p["warmup"], p["epochs"] * math.ceil(n_train / p["batch_size"]))


def predict(model: keras.Model, texts, batch_size: int = 512):
    """Kind scores (N, 15) of a model being trained, through its ids; the same as
    pipeline.models.text.predict on the whole model, which a tf.distribute scope cannot run."""
    vectorize, core = text.split(model)
    return core.predict(dataset(texts, None, batch_size, vectorize=vectorize), verbose=0)


def dataset(
    texts, targets, batch_size: int, shuffle_seed: int | None = None, vectorize=None, seen=None, bucket: int = 0
):
    """Batches of (tweet strings, targets), reshuffled each epoch when given a seed; with
    `vectorize` (a model's string-to-ids layer), of (ids, targets). targets=None: inputs only.
    `seen` (a Seen): counts the batches as they are handed out. `bucket` (with a seed): batches
    of tweets of similar length, see bucketed_order."""
    if bucket and shuffle_seed is not None:
        ds = bucketed(texts, targets, batch_size, shuffle_seed, bucket)
    else:
        strings = text.as_strings(texts)
        ds = tf.data.Dataset.from_tensor_slices(strings if targets is None else (strings, targets))
        if shuffle_seed is not None:
            ds = ds.shuffle(len(texts), seed=shuffle_seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size)
    if vectorize is not None:
        ds = ds.map(vectorize if targets is None else lambda x, y: (vectorize(x), y))
    if seen is not None:
        ds = ds.map(seen.count)
    return batches.untuned(ds)


def bucketed_order(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, bucket: int) -> list:
    """One epoch's batches (arrays of indices) of similar lengths: the tweets in a random order,
    cut into runs of `bucket` batches, each run sorted by length and cut into batches, and the
    batches shuffled. Each batch is padded to its longest tweet, so a batch of short tweets
    costs less; within a run the order is still random, so every epoch mixes other tweets."""
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch_size * bucket):
        run = order[start : start + batch_size * bucket]
        run = run[np.argsort(lengths[run], kind="stable")]
        batches += [run[i : i + batch_size] for i in range(0, len(run), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def bucketed(texts, targets, batch_size: int, seed: int, bucket: int) -> tf.data.Dataset:
    """bucketed_order's batches, a new order each time the dataset is iterated (each epoch),
    seeded by (seed, epoch). Length is counted in characters, a measure of words too."""
    strings = text.as_strings(texts).numpy()
    lengths = np.array([len(t) for t in np.asarray(texts, dtype=object).reshape(-1)])
    epochs = itertools.count()

    def batches():
        rng = np.random.default_rng([seed, next(epochs)])
        for idx in bucketed_order(lengths, batch_size, rng, bucket):
            yield strings[idx] if targets is None else (strings[idx], targets[idx])

    text_spec = tf.TensorSpec((None, 1), tf.string)
    spec = text_spec if targets is None else (text_spec, tf.TensorSpec((None, *targets.shape[1:]), tf.float32))
    return tf.data.Dataset.from_generator(batches, output_signature=spec)


@contextlib.contextmanager
def generator_epochs():
    """Around a fit on `bucketed` batches. They come from a generator, whose length Keras 3.15
    learns by running out of data at the end of each epoch, and it then warns "Your input ran
    out of data; interrupting training" every epoch, though nothing is wrong (the warning is
    dropped upstream when no steps_per_epoch is set, keras-team/keras#23360). Stating the length
    instead (tf.data's assert_cardinality) silences it too, but then Keras starts one more
    iterator per epoch, and each start draws the next epoch's order: the batches of every epoch
    after the first, and the trained models, changed."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)
        yield


class Seen:
    """The tweets a training dataset has handed out, and the sum of their padded lengths (a
    batch's ids are padded to its longest tweet, and that is what the model computes over):
    with flops.per_length, the training FLOPs actually spent."""

    def __init__(self):
        self.examples, self.steps = 0, 0

    def _add(self, shape):
        self.examples += int(shape[0])
        self.steps += int(shape[0]) * int(shape[1])
        return 0

    def count(self, ids, targets):
        done = tf.py_function(lambda shape: self._add(shape.numpy()), [tf.shape(ids)], tf.int32)
        with tf.control_dependencies([done]):
            return tf.identity(ids), targets

    def flops(self, cost: tuple[float, float]) -> float:
        """FLOPs of the counted training steps, at `cost` = flops.per_length's (a, b)."""
        return cost[0] * self.examples + cost[1] * self.steps


class ValidationScores(keras.callbacks.Callback):
    """Adds the validation split's figures to each epoch's logs, from one prediction pass:
    `val_loss` and `val_rmse` (the compiled loss and RMSE against `targets`, what the model trains
    on), and `val_auc_micro`, the micro ROC-AUC against the kind fractions `k`, scored as
    `evaluate` scores the test split (a kind present when its fraction >= threshold). Keras's own
    validation pass (`fit(validation_data=...)`) would run the split through the model a second
    time each epoch for the first two.

    Early stopping can watch the ROC-AUC: on the validation split it kept rising for 3-4 epochs
    after the validation loss had turned, while the model learned the kinds with a handful of
    training tweets (hurricane, ice), which the loss barely weighs.
    """

    def __init__(self, texts, k, targets, threshold: float, vectorize=None):
        super().__init__()
        present = np.asarray(k) >= threshold
        if present.all() or not present.any():
            raise ValueError(
                f"micro ROC-AUC is undefined on this validation split: {'every' if present.all() else 'no'} "
                f"(tweet, kind) pair has a fraction >= {threshold}; use more rows or monitor: val_loss"
            )
        self.inputs, self.k, self.threshold = dataset(texts, None, 512, vectorize=vectorize), k, threshold
        self.targets = np.asarray(targets, "float32")

    def on_epoch_end(self, epoch, logs=None):
        found = self.model.predict(self.inputs, verbose=0)
        logs["val_loss"] = float(self.model.loss(self.targets, found))
        logs["val_rmse"] = float(np.sqrt(np.mean((self.targets - found) ** 2)))
        logs["val_auc_micro"] = tweet_evaluation.text_metrics(self.k, found, self.threshold)["roc_auc_micro"]


def train_targets(pair: tuple, p: dict) -> tuple:
    """(texts, the targets `p["loss"]` trains on) of a (texts, kind fractions) pair."""
    return pair[0], tweets.targets(pair[1], p["loss"])


MONITOR_MODE = {"val_loss": "min", "val_auc_micro": "max"}


def fit(
    model: keras.Model, name: str, p: dict, train, val, threshold: float, seen: Seen | None = None
) -> tuple[list[float], list]:
    """Train on (texts, kind fractions) pairs with the targets `p["loss"]` needs, keeping the
    weights of the epoch with the best `p["monitor"]` on the validation split, the batches
    counted in `seen`. Returns the learning rate of each epoch up to that best one (the
    schedule `refit` replays) and the callbacks (their training.Record counts a refit too)."""
    mode = MONITOR_MODE[p["monitor"]]
    seen = Seen() if seen is None else seen
    vectorize, core = text.split(model)
    compile_model(core, p["loss"], learning_rate(p, len(train[0])), p["optimizer"], loss_weights(p, train[1]))
    cost = flops.per_length(core, tuple(vectorize.output.shape[1:]), vectorize.output.dtype)
    callbacks = training.callbacks(
        name,
        lambda _: seen.flops(cost),
        p["patience"],
        p["monitor"],
        mode,
        scores=(ValidationScores(*val, train_targets(val, p)[1], threshold, vectorize),),
        schedule=(
            (keras.callbacks.ReduceLROnPlateau(p["monitor"], 0.5, p["lr_patience"], mode=mode, min_delta=0),)
            if p["lr_patience"]
            else ()
        ),
    )
    batches = dataset(*train_targets(train, p), p["batch_size"], p["seed"], vectorize, seen, p["length_sorted_batches"])
    with generator_epochs():
        history = core.fit(
            batches,
            epochs=p["epochs"],
            callbacks=callbacks,
            shuffle=False,  # the dataset shuffles itself, seeded
            verbose=2,
        )
    # The model holds the weights of early stopping's best epoch, or of the last one without it.
    stopping = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
    kept = stopping[0].best_epoch + 1 if stopping else len(history.epoch)
    return history.history.get("learning_rate", [p["learning_rate"]] * kept)[:kept], callbacks


def refit(
    build, p: dict, train, val, learning_rates: list[float], callbacks=(), seen: Seen | None = None
) -> keras.Model:
    """A fresh model from `build(texts, p)`, trained on train and val together for the epochs
    `fit` kept on val alone, at the learning rates it chose (plateau) or on the same one-cycle
    schedule (one_cycle: stopped where `fit` stopped, the steps scaled to the larger epochs):
    the model then learns from the validation tweets too (1/7 more with the default split).
    On a split of the training tweets (bench/text_refit.py) this raised validation micro ROC-AUC."""
    texts, k = (np.concatenate(pair) for pair in zip(train, val, strict=True))
    keras.utils.set_random_seed(p["seed"])
    model = build(texts, p)
    vectorize, core = text.split(model)
    if p["schedule"] == "plateau":
        rate = learning_rates[0]
        callbacks = [keras.callbacks.LearningRateScheduler(lambda epoch: learning_rates[epoch]), *callbacks]
    else:
        rate = learning_rate(p, len(texts))
    compile_model(core, p["loss"], rate, p["optimizer"], loss_weights(p, k))
    batches = dataset(
        *train_targets((texts, k), p), p["batch_size"], p["seed"], vectorize, seen, p["length_sorted_batches"]
    )
    with generator_epochs():
        core.fit(
            batches,
            epochs=len(learning_rates),
            callbacks=list(callbacks),
            shuffle=False,
            verbose=2,
        )
    return model


def fit_and_refit(name: str, from_params, p: dict, train, val, threshold: float, strategy=None):
    """A tweet model's training, as its stage runs it: fit on train with early stopping on val,
    score val with that model, then refit on train + val if `refit`, and with `average_fits`
    take the mean of both models' scores. The two learned from other tweets (val or not), from
    other initial weights, for other numbers of steps, so they err differently, and their mean
    costs no training beyond the refit's (docs/tuning.md: cross-validated, it scored higher than
    the refitted model alone). Returns (the model, the first fit's validation scores)."""
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = from_params(train[0], p)
        seen = Seen()
        learning_rates, callbacks = fit(model, name, p, train, val, threshold, seen)
        val_scores = predict(model, val[0])
    if p["refit"]:
        first = model
        with strategy.scope():
            model = refit(from_params, p, train, val, learning_rates, seen=seen)
        next(c for c in callbacks if isinstance(c, training.Record)).update()
        if p["average_fits"]:
            model = text.averaged([model, first], name)
    return model, val_scores


def train(name: str, from_params) -> None:
    """The whole of a tweet model's stage: fit_and_refit, then save the model, and the first
    fit's validation scores for train_ensemble (a refitted model has seen val)."""
    p = params.load(f"train_{name}")
    threshold = params.load("evaluate")["roc_threshold"]
    strategy = hardware.start(outputs.trained_by(name), distribute=p["distribute"])
    training.seed_everything(p["seed"])
    train_split, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    model, val_scores = fit_and_refit(name, from_params, p, train_split, val, threshold, strategy)
    files.save_npy(outputs.val_scores_path(name), val_scores.astype("float32"))
    training.save(model, name)
