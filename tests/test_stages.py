"""Each stage, run as dvc.yaml runs it, on a checkout that lacks its inputs: one line that names
the missing file and the command that makes it, exit code 1, no traceback."""

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

EXPECTED = {
    "preprocess": "data/raw/fashion-mnist/train-images-idx3-ubyte.gz",
    "train_ae": "data/prepared/fashion/x_train.npy: no such file; run `dvc repro preprocess` first",
    "train_cnn": "data/prepared/fashion/x_train.npy: no such file; run `dvc repro preprocess` first",
    "train_transfer": "data/prepared/fashion/x_train.npy: no such file; run `dvc repro preprocess` first",
    "train_rnn": "data/prepared/tweets/train.csv: no such file; run `dvc repro preprocess` first",
    "train_charcnn": "data/prepared/tweets/train.csv: no such file; run `dvc repro preprocess` first",
    "train_ensemble": "data/prepared/tweets/val.csv: no such file; run `dvc repro preprocess` first",
    "baseline_text": "data/prepared/tweets/train.csv: no such file; run `dvc repro preprocess` first",
    "evaluate_images cnn": "data/models/cnn.keras: no such model; run `dvc repro train_cnn` first",
    "evaluate_tweets rnn": "data/models/rnn.keras: no such model; run `dvc repro train_rnn` first",
    "export ensemble": "data/models/ensemble.keras: no such model; run `dvc repro train_ensemble` first",
    "summarize": "metrics/evaluate/ae.json: no such file; run `dvc repro evaluate_images@ae` first",
}


def run_stage(cwd, stage: str, env=None):
    name, *args = stage.split()
    return subprocess.run(
        [sys.executable, "-m", f"stages.{name}", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def checkout(tmp_path):
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    return tmp_path


@pytest.mark.parametrize("stage", EXPECTED)
def test_a_stage_without_its_input_says_so_in_one_line(checkout, stage):
    proc = run_stage(checkout, stage)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{stage.split()[0]}: ") and EXPECTED[stage] in last


def test_a_bad_param_stops_a_training_stage_in_one_line(checkout):
    params = checkout / "params.yaml"
    params.write_text(params.read_text().replace("code_size: 32", "code_size: many"))
    proc = run_stage(checkout, "train_ae")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip().splitlines()[-1]
        == "train_ae: train_ae.code_size: expected an integer from 1 to 128, got 'many'"
    )


@pytest.mark.parametrize("stage", ["preprocess", "baseline_text", "summarize"])
def test_stages_without_a_keras_model_do_not_import_tensorflow(checkout, stage, tmp_path_factory):
    # A tensorflow package that fails on import: the stage must end with its own message anyway.
    fake = tmp_path_factory.mktemp("fake") / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('tensorflow was imported')\n")
    proc = run_stage(checkout, stage, {"PYTHONPATH": f"{fake.parent}{os.pathsep}{ROOT}"})
    assert "tensorflow was imported" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"{stage}: ")
