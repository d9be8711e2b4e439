"""The train_cnn stage on a tiny prepared split: which images it learns from, and what it records."""

import json

import numpy as np
import pytest
import yaml

from pipeline import fashion, flops, training
from pipeline.models import cnn
from stages import train_cnn
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


def run(project, monkeypatch, **overrides):
    """Run the stage with these train_cnn params; return (the images each fit saw, its record)."""
    where, params = project
    params["train_cnn"].update(overrides)
    (where / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    fitted = []
    real_fit = train_cnn.keras.Model.fit

    def recording_fit(model, x, y, **kwargs):
        fitted.append((len(x), kwargs.get("validation_data")))
        return real_fit(model, x, y, **kwargs)

    monkeypatch.setattr(train_cnn.keras.Model, "fit", recording_fit)
    train_cnn.main()
    record = json.loads((where / "metrics/train/cnn/metrics.json").read_text())
    return fitted, record


@pytest.mark.parametrize("with_val, seen, splits", [(True, 32, {"train"}), (False, 24, {"train", "validation"})])
def test_with_val_trains_on_train_and_val_for_the_same_epochs(project, monkeypatch, with_val, seen, splits):
    fitted, record = run(project, monkeypatch, with_val=with_val)
    assert [n for n, _ in fitted] == [seen]
    assert (fitted[0][1] is None) == with_val
    model = cnn.from_params(section("train_cnn", epochs=2, batch_size=8), seen)
    per_image = flops.training_step(model, (28, 28))
    assert record["train_flops"] == per_image * seen * 2  # every image seen, each epoch
    assert ("eval" in record) == (not with_val)  # no figures on images it learnt from
    rows = json.loads((project[0] / "metrics/train/cnn/curves/accuracy.json").read_text())
    assert {row["split"] for row in rows} == splits and max(row["epoch"] for row in rows) == 2
    saved = training.load(project[0] / "data/models/cnn.keras")
    probs = saved.predict(np.zeros((2, 28, 28), np.uint8), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
