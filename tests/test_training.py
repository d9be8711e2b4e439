"""pipeline.training: saving models (the same model gives the same bytes, so DVC sees nothing new
on a rerun) and the one-cycle schedule."""

import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from pipeline import training
from tests.conftest import ROOT

# Two layers share one dtype policy object, which Keras numbers by its memory address.
SAVE = """
import sys
from pathlib import Path
import keras
from pipeline import outputs, training
outputs.MODELS = Path(sys.argv[1])
keras.utils.set_random_seed(0)
policy = keras.DTypePolicy("float32")
inputs = keras.Input((4,))
hidden = keras.layers.Dense(3, dtype=policy)(inputs)
training.save(keras.Model(inputs, keras.layers.Dense(2, dtype=policy)(hidden)), "m")
"""


def test_the_same_model_saved_by_two_processes_is_byte_identical_and_loads(tmp_path):
    for name in ("first", "second"):
        subprocess.run([sys.executable, "-c", SAVE, str(tmp_path / name)], cwd=ROOT, check=True, timeout=300)
    first, second = (tmp_path / name / "m.keras" for name in ("first", "second"))
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        assert {info.date_time for info in zf.infolist()} == {training.FIXED_TIME}
        assert b'"shared_object_id": 1' in zf.read("config.json")
    model = training.load(first)
    assert [layer.dtype_policy.name for layer in model.layers[1:]] == ["float32", "float32"]
    assert model(np.ones((1, 4), dtype="float32")).shape == (1, 2)


def test_one_cycle_rises_from_a_tenth_to_the_peak_then_falls_to_zero():
    schedule = training.one_cycle(0.5, 0.2, 10)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in range(11)]
    np.testing.assert_allclose(rates[:3], [0.05, 0.275, 0.5], rtol=1e-6)  # 2 steps of warm-up
    assert (np.diff(rates[2:]) < 0).all() and rates[10] == pytest.approx(0.0, abs=1e-9)
    flat = training.one_cycle(0.5, 0.0, 10)  # no warm-up: cosine decay from the peak
    assert float(keras.ops.convert_to_numpy(flat(0))) == pytest.approx(0.5)
