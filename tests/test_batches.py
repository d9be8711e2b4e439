import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

from pipeline import batches, fashion, text_training, training
from tests.conftest import ROOT
from tests.tiny import small_application, tiny_params


def epoch(dataset) -> list:
    return [tuple(np.asarray(part) for part in b) if isinstance(b, tuple) else np.asarray(b) for b in dataset]


def test_of_arrays_batches_in_order_without_a_seed_the_last_batch_partial():
    x = np.arange(10, dtype="float32").reshape(5, 2)
    got = epoch(batches.of_arrays(x, batch_size=2))
    assert [b.shape for b in got] == [(2, 2), (2, 2), (1, 2)]
    np.testing.assert_array_equal(np.concatenate(got), x)


def test_of_arrays_reshuffles_each_epoch_keeps_pairs_and_repeats_with_the_seed():
    x = np.arange(40, dtype="int64")
    y = x * 10
    ds = batches.of_arrays(x, y, batch_size=8, shuffle_seed=3)
    first, second = (np.concatenate([b[0] for b in epoch(ds)]) for _ in range(2))
    for seen in (first, second):
        assert sorted(seen) == list(x)  # every example once an epoch
    assert not np.array_equal(first, second)  # a new order each epoch
    for xb, yb in epoch(ds):
        np.testing.assert_array_equal(yb, xb * 10)  # inputs stay with their targets
    again = batches.of_arrays(x, y, batch_size=8, shuffle_seed=3)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in epoch(again)]), first)


def test_of_arrays_refuses_arrays_of_different_lengths():
    with pytest.raises(ValueError, match=r"of one length, got lengths \[3, 2\]"):
        batches.of_arrays(np.zeros(3), np.zeros(2), batch_size=2)


def test_the_pipelines_models_fit_and_predict_on_are_not_autotuned():
    texts = np.array(["rain today", "sunny", "storm coming", "snow"], dtype=object)
    k = np.zeros((4, 15), "float32")
    built = {
        "arrays": batches.of_arrays(np.zeros((4, 2)), batch_size=2),
        "tweets": text_training.dataset(texts, k, 2, shuffle_seed=0),
        "length-sorted tweets": text_training.dataset(texts, k, 2, shuffle_seed=0, bucket=2),
    }
    assert {name: ds.options().autotune.enabled for name, ds in built.items()} == dict.fromkeys(built, False)
    # What Keras and tf.data do otherwise, which the check above tells apart:
    assert tf.data.Dataset.range(4).batch(2).options().autotune.enabled is not False


def test_training_predict_scores_every_image_in_order_as_keras_does_on_the_array():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(7, 3)).astype("float32")
    np.testing.assert_allclose(
        training.predict(model, x, "test", batch_size=3), model.predict(x, batch_size=3, verbose=0), rtol=1e-6
    )


# Run as dvc.yaml runs the stage, in its own process, with Keras's fit recording what it is given
# (written at each call: a stage that succeeds ends its process without Python's teardown).
SPY = """
import json, sys, runpy, keras, tensorflow as tf
seen = []
fit = keras.Model.fit
def spy(self, x=None, *args, validation_data=None, **kwargs):
    for name, data in (("train", x), ("validation", validation_data)):
        if data is not None:
            dataset = isinstance(data, tf.data.Dataset)
            autotune = data.options().autotune.enabled if dataset else None
            seen.append({"pass": name, "dataset": dataset, "autotune": autotune})
    with open("fits.json", "w") as f:
        json.dump(seen, f)
    return fit(self, x, *args, validation_data=validation_data, **kwargs)
keras.Model.fit = spy
runpy.run_module(sys.argv[1], run_name="__main__")
"""


@pytest.mark.parametrize("stage", ["train_ae", "train_cnn", "train_transfer"])
def test_the_image_stages_fit_on_batches_that_are_not_autotuned(tmp_path, monkeypatch, images, stage):
    monkeypatch.chdir(tmp_path)
    x, y = images
    fashion.save(fashion.PREPARED, {"train": (x[:24], y[:24]), "val": (x[24:32], y[24:32]), "test": (x[32:], y[32:])})
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    p = tiny_params(tmp_path / "params.yaml")
    p[stage].update(epochs=1, batch_size=8)
    if stage == "train_cnn":
        p[stage]["with_val"] = False
    if stage == "train_transfer":
        p[stage]["weights"] = small_application(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    (tmp_path / "spy.py").write_text(SPY)
    proc = subprocess.run(
        [sys.executable, "spy.py", f"stages.{stage}"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    # Keras's own shuffle cannot reach a dataset and warns that it is ignored: noise for the user.
    assert "will be ignored" not in proc.stderr
    # Arrays handed to Keras would show up as no dataset, autotuned inside Keras.
    assert json.loads((tmp_path / "fits.json").read_text()) == [
        {"pass": "train", "dataset": True, "autotune": False},
        {"pass": "validation", "dataset": True, "autotune": False},
    ]
