"""A tiny configuration of params.yaml: the real pipeline on a few hundred examples, in minutes."""

from pathlib import Path

import yaml

from pipeline import params
from pipeline.params import merge

PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"

OVERRIDES = {
    "preprocess": {
        "fashion": {"max_train": 300, "max_val": 100, "max_test": 100},
        "tweets": {"max_rows": 400},
    },
    "train_ae": {"filters": [4, 8], "code_size": 8, "epochs": 1, "batch_size": 64},
    "train_cnn": {"stem_filters": 4, "filters": [4, 8], "convs_per_block": [2, 2], "epochs": 1, "batch_size": 64},
    "train_transfer": {"input_size": 64, "epochs": 2, "batch_size": 64},
    "train_rnn": {"buckets": 1024, "embedding_dim": 8, "units": 8, "epochs": 1},
    "train_charcnn": {"sequence_length": 64, "embedding_dim": 8, "filters": 8, "hidden_units": 8, "epochs": 1},
    "baseline_text": {"max_features": 1000},
    "evaluate": {"ae_examples": 3, "train_images": 100},
}


def tiny_params(path) -> dict:
    """Rewrite the params.yaml at `path` with the tiny overrides; return the result."""
    params = merge(yaml.safe_load(path.read_text()), OVERRIDES)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def section(name: str, **overrides) -> dict:
    """A stage's params (its section of the real params.yaml, with `base`) in the tiny
    configuration, with `overrides` put in: what a unit test passes to a model's from_params."""
    return merge(merge(params.load(name, PARAMS), OVERRIDES.get(name, {})), overrides)


def architecture(name: str, builder, **overrides) -> dict:
    """The keyword arguments of `builder`, from `section(name, ...)`, as the stages take them."""
    from pipeline import params

    return params.keywords(builder, section(name, **overrides))


def small_application(tmp_path):
    """A tiny keras.applications MobileNet with its own (random) weights file, as the download
    stage would provide one: the builder must load weights from a path, never from the web."""
    import keras

    net = keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, include_top=False, weights=None)
    path = tmp_path / "mobilenet_tiny.weights.h5"
    net.save_weights(path)
    return str(path)


def dense_fitted(optimizer) -> list:
    """The weights of two Dense layers after two seeded epochs on a fixed regression: a model
    whose every gradient is dense, to compare an optimizer with the Keras one it extends."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    model.fit(x, x.sum(axis=1, keepdims=True), batch_size=8, epochs=2, verbose=0, shuffle=False)
    return model.get_weights()


def compile_small(model, optimizer: str) -> None:
    """train_cnn's compile (pipeline.models.cnn) with `optimizer` and a ten steps' schedule, for
    a fit of a few tiny batches."""
    from pipeline.models import cnn

    cnn.compile_model(
        model,
        optimizer=optimizer,
        learning_rate=0.01,
        muon_learning_rate=0.01,
        warmup=0.2,
        weight_decay=1e-4,
        label_smoothing=0.1,
        steps=10,
    )
