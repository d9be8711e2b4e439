"""The train_cnn stage, run as dvc.yaml runs it (its own process: TensorFlow's thread pools are
set once per process), on tiny prepared splits: which images it learns from, and what it records."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from pipeline import fashion, flops, training
from pipeline.models import cnn
from tests.conftest import ROOT
from tests.tiny import section, tiny_params


@pytest.fixture
def project(tmp_path, monkeypatch, images):
    """A folder with tiny prepared Fashion-MNIST splits (24 train, 8 val, 8 test images) and the
    project's params.yaml in its tiny configuration."""
    monkeypatch.chdir(tmp_path)
    x, y = images
    fashion.save(fashion.PREPARED, {"train": (x[:24], y[:24]), "val": (x[24:32], y[24:32]), "test": (x[32:], y[32:])})
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    params = tiny_params(tmp_path / "params.yaml")
    params["train_cnn"].update(epochs=2, batch_size=8)
    return tmp_path, params


def run(project, **overrides) -> dict:
    """Run the stage with these train_cnn params; return its record (metrics.json)."""
    where, params = project
    params["train_cnn"].update(overrides)
    (where / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-m", "stages.train_cnn"],
        cwd=where,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads((where / "metrics/train/cnn/metrics.json").read_text())


@pytest.mark.parametrize("with_val, seen, splits", [(True, 32, {"train"}), (False, 24, {"train", "validation"})])
def test_with_val_trains_on_train_and_val_for_the_same_epochs(project, with_val, seen, splits):
    record = run(project, with_val=with_val)
    # As the stage counts: with op determinism on, TensorFlow builds the loss's gradient from other ops.
    training.seed_everything(0)
    per_image = flops.training_step(cnn.from_params(section("train_cnn"), seen), (28, 28))
    assert record["train_flops"] == per_image * seen * 2  # every image it learnt from, each epoch
    assert ("eval" in record) == (not with_val)  # no validation figures on images it learnt from
    rows = json.loads((project[0] / "metrics/train/cnn/curves/accuracy.json").read_text())
    assert {row["split"] for row in rows} == splits and max(row["epoch"] for row in rows) == 2
    saved = training.load(project[0] / "data/models/cnn.keras")
    probs = saved.predict(np.zeros((2, 28, 28), np.uint8), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
