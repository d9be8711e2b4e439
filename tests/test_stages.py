"""Each stage, run as dvc.yaml runs it, on a checkout that lacks its inputs: one line that names
the missing file and the command that makes it, exit code 1, no traceback. And how a stage's
process ends when it succeeds."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

EXPECTED = {
    "preprocess_fashion": "data/raw/fashion-mnist/train-images-idx3-ubyte.gz",
    "preprocess_tweets": "data/raw/weather-tweets/train_first8000.csv",
    "train_ae": "data/prepared/fashion/x_train.npy: no such file; run `dvc repro preprocess_fashion` first",
    "train_cnn": "data/prepared/fashion/x_train.npy: no such file; run `dvc repro preprocess_fashion` first",
    "train_transfer": "data/prepared/fashion/x_train.npy: no such file; run `dvc repro preprocess_fashion` first",
    "train_tweets rnn": "data/prepared/tweets/train.csv: no such file; run `dvc repro preprocess_tweets` first",
    "train_tweets charcnn": "data/prepared/tweets/train.csv: no such file; run `dvc repro preprocess_tweets` first",
    "train_ensemble": "data/prepared/tweets/val.csv: no such file; run `dvc repro preprocess_tweets` first",
    "baseline_text": "data/prepared/tweets/train.csv: no such file; run `dvc repro preprocess_tweets` first",
    "evaluate_images cnn": "data/models/cnn.keras: no such model; run `dvc repro train_cnn` first",
    "evaluate_tweets rnn": "data/models/rnn.keras: no such model; run `dvc repro train_tweets@rnn` first",
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


@pytest.mark.parametrize("stage", ["download", "preprocess_fashion", "preprocess_tweets", "baseline_text", "summarize"])
def test_stages_without_a_keras_model_do_not_import_tensorflow(checkout, stage, tmp_path_factory):
    # A tensorflow package that fails on import: the stage must end with its own message anyway.
    fake = tmp_path_factory.mktemp("fake") / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('tensorflow was imported')\n")
    proc = run_stage(checkout, stage, {"PYTHONPATH": f"{fake.parent}{os.pathsep}{ROOT}"})
    assert "tensorflow was imported" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"{stage}: ")


def test_stages_import_scikit_learn_only_to_score_and_matplotlib_only_to_draw():
    # TensorFlow loads Keras, which would import scikit-learn for keras.wrappers and pyplot for
    # keras.visualization if the quiet start did not hide them then (docs/benchmarks.md); the
    # training stages' metrics do not import pyplot either. A stage that needs either after that
    # gets it as usual.
    code = (
        "import sys, stages.train_ae, stages.train_cnn, stages.train_transfer, stages.export; "
        "print('sklearn' in sys.modules, 'matplotlib' in sys.modules); "
        "import stages.train_tweets, stages.train_ensemble; print('matplotlib' in sys.modules); "
        "from sklearn import metrics; print(metrics.roc_auc_score([0, 1], [0.2, 0.8])); "
        "from pipeline.evaluation import subplots; fig, ax = subplots(); print(type(fig.canvas).__name__)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.stdout.split() == ["False", "False", "False", "1.0", "FigureCanvasAgg"], proc.stderr


def imports_tensorflow(path) -> bool:
    """Whether a project file imports TensorFlow or Keras itself (anywhere in it)."""
    import ast

    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        if any(n.split(".")[0] in ("tensorflow", "keras") for n in names):
            return True
    return False


STAGE_SCRIPTS = sorted(p for p in (ROOT / "stages").glob("*.py") if p.stem not in ("__init__", "with_tensorflow"))


@pytest.mark.parametrize("script", STAGE_SCRIPTS, ids=[p.stem for p in STAGE_SCRIPTS])
def test_a_stage_imports_the_quiet_start_first_exactly_when_it_runs_tensorflow(script):
    import ast

    from tests.test_dvc_deps import closure

    runs_tf = any(imports_tensorflow(p) for p in closure(f"stages.{script.stem}", ["rnn"]))
    imports = [n for n in ast.parse(script.read_text()).body if isinstance(n, ast.Import | ast.ImportFrom)]
    first = imports[0]
    says_so = isinstance(first, ast.Import) and first.names[0].name == "stages.with_tensorflow"
    assert says_so == runs_tf, (
        f"{script.name}: its imports reach TensorFlow, so `import stages.with_tensorflow` must be its first import"
        if runs_tf
        else f"{script.name} never runs TensorFlow: it must not import stages.with_tensorflow"
    )


FAKE_STAGE = """
import atexit, os, sys, threading, time
from pipeline import errors

class Kept:
    def __del__(self):
        os.write(2, b"freed\\n")

kept = Kept()

def main():
    atexit.register(print, "atexit handler ran")
    threading.Thread(target=lambda: (time.sleep(0.2), open("late.txt", "w").write("done"))).start()
    sys.stdout.write("buffered output")

if __name__ == "__main__":
    if sys.argv[1:] == ["plain"]:  # the control: the same work, then Python's usual exit
        main()
    else:
        errors.run_stage("fake", main)
    print("after the stage")
"""


@pytest.fixture
def fake_stage(tmp_path):
    """`run(*args)`: python ARGS in a new folder, with a package `stages` holding FAKE_STAGE (fake.py)."""
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "__init__.py").write_text("")
    (tmp_path / "stages" / "fake.py").write_text(FAKE_STAGE)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}

    def run(*args: str) -> tuple[subprocess.CompletedProcess, Path]:
        cwd = Path(tempfile.mkdtemp(dir=tmp_path))
        proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
        return proc, cwd

    return run


@pytest.mark.parametrize("how", ["module", "file"])
def test_a_stage_that_succeeds_ends_its_process_without_pythons_teardown_and_loses_nothing(fake_stage, tmp_path, how):
    proc, cwd = fake_stage(*(["-m", "stages.fake"] if how == "module" else [str(tmp_path / "stages" / "fake.py")]))
    assert proc.returncode == 0, proc.stderr
    # Nothing after run_stage ran and nothing was freed, but the thread finished, the atexit
    # handler ran and the buffered output came out.
    assert proc.stdout == "buffered outputatexit handler ran\n"
    assert (cwd / "late.txt").read_text() == "done"
    assert "freed" not in proc.stderr
    # The control: with Python's usual exit the teardown frees the module's objects.
    proc, cwd = fake_stage("-m", "stages.fake", "plain")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "buffered outputafter the stage\natexit handler ran\n"
    assert proc.stderr == "freed\n"


def test_a_stage_under_a_caller_with_more_to_do_returns_from_run_stage(fake_stage):
    proc, cwd = fake_stage("-m", "cProfile", "-o", "stage.prof", "-m", "stages.fake")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "buffered outputafter the stage\natexit handler ran\n"
    assert (cwd / "stage.prof").stat().st_size > 0  # the profiler wrote its figures after the stage
    assert (cwd / "late.txt").read_text() == "done"


def test_run_stage_returns_inside_this_test_process():
    from pipeline import errors

    ran = []
    errors.run_stage("fake", lambda: ran.append(True))
    assert ran == [True]
