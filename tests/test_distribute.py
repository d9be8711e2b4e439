"""`distribute: mirrored` against one device, on two logical CPU devices (as Keras's own
distribution tests do where there is no GPU): the same losses and weights within float32 rounding,
and a saved model that loads and predicts without the strategy. In a subprocess: logical devices
must be set before TensorFlow starts, and the test process has started it long before."""

import json
import subprocess
import sys

from tests.conftest import ROOT

# The mirrored fit sums each replica's gradients in another order than the single-device fit:
# float32 rounding, compounded over the steps, and nothing more.
LOSS_TOLERANCE = 1e-5
WEIGHT_TOLERANCE = 1e-4

SCRIPT = r"""
import json
import sys

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras

from pipeline import hardware, text_training, training, tweets
from pipeline.models import charcnn, cnn, text
from tests.conftest import make_tweets
from tests.tiny import architecture, compile_small, section

mirrored = hardware.start("check", distribute="mirrored")
rng = np.random.default_rng(0)
x = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
y = keras.utils.to_categorical(np.arange(64) % 10, 10)
clean, _ = tweets.clean(make_tweets(64).astype(str))
texts, k = clean["tweet"].to_numpy(dtype=object), tweets.labels(clean)
result = {"replicas": mirrored.num_replicas_in_sync}


def text_model():
    # As pipeline.text_training fits it: strings to ids once, the rest of the model on the ids;
    # with LazyAdam (the RNN's), whose sparse updates of the embedding table must mirror too.
    model = charcnn.from_params(texts, section("train_charcnn", dropout=0.0, kernel_sizes=[2, 3]))
    vectorize, core = text.split(model)
    text_training.compile_model(core, "sigmoid", 0.01, "lazy_adam")
    return model, core, (text_training.dataset(texts, k, 16, vectorize=vectorize),), {}


def image_model():
    # No dropout and no augmentation: their random draws differ per replica by design; no batch
    # normalisation: each replica normalises by its own share of the batch (Keras's default).
    still = {"flip": False, "translate": 0.0}
    model = cnn.build(**architecture("train_cnn", cnn.build, dropout=0.0, batch_norm=False, augment=still))
    compile_small(model, "muon")  # the CNN's default optimizer, whose kernel steps must mirror too
    return model, model, (x, y), {"batch_size": 16}


# Unshuffled: tf.data draws another order when a strategy distributes a shuffled dataset.
for kind, build in (("cnn", image_model), ("charcnn", text_model)):
    runs = {}
    for name, strategy in (("one", tf.distribute.get_strategy()), ("mirrored", mirrored)):
        training.seed_everything(0)
        with strategy.scope():
            model, fitted, args, kwargs = build()
            history = fitted.fit(*args, epochs=2, shuffle=False, verbose=0, **kwargs)
        runs[name] = (history.history["loss"], model)
    (loss_one, one), (loss_mirrored, mirrored_model) = runs["one"], runs["mirrored"]
    path = f"{sys.argv[1]}/{kind}.keras"
    mirrored_model.save(path)
    loaded = training.load(path)
    probe = texts[:8] if kind == "charcnn" else x[:8]
    predict = (lambda m: text.predict(m, probe)) if kind == "charcnn" else (lambda m: m.predict(probe, verbose=0))
    result[kind] = {
        "loss_one": loss_one,
        "loss_mirrored": loss_mirrored,
        "max_weight_difference": max(
            float(np.abs(a - b).max()) for a, b in zip(one.get_weights(), mirrored_model.get_weights(), strict=True)
        ),
        "weights_moved": max(float(np.abs(w).max()) for w in one.get_weights()),
        "loaded_weight_difference": max(
            float(np.abs(a - b).max()) for a, b in zip(loaded.get_weights(), mirrored_model.get_weights(), strict=True)
        ),
        "loaded_prediction_difference": float(np.abs(predict(loaded) - predict(mirrored_model)).max()),
    }
print("RESULT " + json.dumps(result))
"""


def test_mirrored_training_on_two_cpu_devices_matches_one_device_and_saves_a_plain_model(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    result = json.loads(lines[0][len("RESULT ") :])
    print(json.dumps(result, indent=1))  # the figures issue 13 asks for, in the test log
    assert result["replicas"] == 2
    for kind in ("cnn", "charcnn"):
        r = result[kind]
        assert max(abs(a - b) for a, b in zip(r["loss_one"], r["loss_mirrored"], strict=True)) < LOSS_TOLERANCE
        assert r["loss_one"][1] != r["loss_one"][0]  # it trained
        assert r["max_weight_difference"] < WEIGHT_TOLERANCE
        # The saved model holds exactly the trained weights; its predictions off the strategy's
        # devices agree to float32 rounding (the AVX2 kernels of an AMD EPYC block the batch
        # differently with two replicas: 1.5e-8 measured, where an Intel Xeon gave 0).
        assert r["loaded_weight_difference"] == 0.0
        assert r["loaded_prediction_difference"] < 1e-6
