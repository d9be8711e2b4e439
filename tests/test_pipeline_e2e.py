"""The real `dvc repro` and `dvc exp run`, on a tiny configuration, in a temporary git repository.

Reads the real raw data from the mirror ../shared/data, as CI does.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import ROOT, SHARED_DATA
from tests.tiny import tiny_params

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs the real data mirror ../shared/data"),
]

RESULTS = ("dvc.lock", "metrics", "plots")


def run(args, cwd, check=True, env=None):
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DATA_MIRROR": str(SHARED_DATA), **(env or {})}
    # The venv's dvc and python, whatever the caller's PATH says.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def ran_stages(proc) -> list[str]:
    return [line.split("'")[1] for line in proc.stdout.splitlines() if line.startswith("Running stage")]


def snapshot(repo: Path) -> dict[str, bytes]:
    files = [p for d in ("metrics", "plots") for p in sorted((repo / d).rglob("*")) if p.is_file()]
    return {str(p.relative_to(repo)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The project's files (not its committed results) in a fresh git repository, tiny params."""
    repo = tmp_path_factory.mktemp("project")
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in listed:
        if rel.split("/")[0] in RESULTS or not (ROOT / rel).is_file():
            continue
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, repo / rel)
    tiny_params(repo / "params.yaml")
    run(["git", "init", "-q"], repo)
    run(["git", "config", "user.email", "e2e@example.com"], repo)
    run(["git", "config", "user.name", "e2e"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "tiny"], repo)
    return repo


@pytest.fixture(scope="module")
def reproduced(repo):
    proc = run(["dvc", "repro"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "results"], repo)
    return proc


def test_repro_runs_every_stage_and_writes_results(repo, reproduced):
    assert set(ran_stages(reproduced)) == {
        "download", "preprocess", "train_ae", "train_cnn", "train_transfer", "train_rnn",
        "train_charcnn", "baseline_text", "evaluate@ae", "evaluate@cnn", "evaluate@transfer",
        "evaluate@rnn", "evaluate@charcnn", "summarize",
    }  # fmt: skip
    x = np.load(repo / "data/prepared/fashion/x_train.npy")
    assert x.shape == (300, 28, 28) and x.dtype == np.uint8
    stats = yaml.safe_load((repo / "metrics/data.json").read_text())
    assert stats["fashion"]["test"]["rows"] == 100 and stats["tweets"]["rows_read"] == 8000
    assert sum(stats["tweets"][s]["rows"] for s in ("train", "val", "test")) == 400
    for name in ("ae", "cnn", "transfer", "rnn", "charcnn", "tfidf"):
        assert (repo / f"metrics/evaluate/{name}.json").is_file()
    assert (repo / "plots/evaluate/ae/reconstructions.png").is_file()
    assert "| deep CNN (train_cnn) | test accuracy" in (repo / "metrics/summary.md").read_text()
    assert run(["git", "status", "--porcelain"], repo).stdout == ""  # outputs git-ignored or committed


def test_training_stages_say_their_hardware_path_and_tensorflow_stays_quiet(repo, reproduced):
    out = reproduced.stdout + reproduced.stderr
    for stage in ("train_ae", "train_cnn", "train_transfer", "train_rnn", "train_charcnn"):
        # The stage's first line: device, CPU flags or GPU, threads, precision and why.
        first = [line for line in out.splitlines() if line.startswith(f"{stage}: ")][0]
        assert " threads; precision " in first, first
        trained = json.loads((repo / f"metrics/train/{stage[6:]}/metrics.json").read_text())
        assert trained["device"] == "cpu" and trained["precision"] in ("float32", "mixed_bfloat16")
    for noise in ("cuInit", "absl::InitializeLog", "oneDNN custom operations", "NodeDef mentions",
                  "destroy the mask", "Traceback"):  # fmt: skip
        assert noise not in out, noise
    assert "train_transfer: embedding the training images: 300/300 (100%)" in out


def test_second_repro_runs_nothing(repo, reproduced):
    proc = run(["dvc", "repro"], repo)
    assert ran_stages(proc) == [], proc.stdout
    assert "Data and pipelines are up to date" in run(["dvc", "status"], repo).stdout


def test_metrics_and_plots_show(repo, reproduced):
    shown = run(["dvc", "metrics", "show"], repo).stdout
    assert "roc_auc_micro" in shown and "test.accuracy" in shown
    out = repo / "plots_html"
    run(["dvc", "plots", "show", "--out", str(out)], repo)
    assert (out / "index.html").is_file()
    # Every plot in dvc.yaml must load: DVC only warns about a wrong field or a picture declared
    # as data, and draws an empty plot.
    plots = json.loads(run(["dvc", "plots", "show", "--json"], repo).stdout)
    assert not plots.get("errors"), plots["errors"]
    curves = {name: drawn for name, drawn in plots["data"].items() if name.startswith("Training curves")}
    assert len(curves) == 5
    for name, drawn in curves.items():
        assert drawn and all(d["content"]["data"]["values"] for d in drawn), f"{name}: nothing drawn"
    assert "plots/evaluate/ae/reconstructions.png" in plots["data"]


def test_one_models_param_reruns_only_that_model(repo, reproduced):
    proc = run(["dvc", "exp", "run", "-S", "train_charcnn.filters=6", "--name", "narrow"], repo)
    assert set(ran_stages(proc)) == {"train_charcnn", "evaluate@charcnn", "summarize"}
    shown = run(["dvc", "exp", "show", "--no-pager", "--csv"], repo).stdout
    assert "narrow" in shown


@pytest.mark.parametrize(
    "override, message",
    [
        ("train_cnn.epoch=3", "Could not override 'train_cnn.epoch'"),  # DVC's own check
        ("+train_cnn.epoch=3", "train_cnn.epoch: unknown key; allowed keys in train_cnn"),
        ("train_cnn.epochs=0", "train_cnn.epochs: 0 is out of range; allowed from 1 to 1000"),
        ("train_rnn.cell=rnn", "train_rnn.cell: got 'rnn', allowed values: gru, lstm"),
    ],
)
def test_bad_params_stop_the_run(repo, reproduced, override, message):
    proc = run(["dvc", "exp", "run", "-S", override], repo, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    # DVC removed the failed stage's outputs before running it: git and the cache have them.
    run(["git", "checkout", "--", "."], repo)
    run(["dvc", "checkout"], repo)
    assert "up to date" in run(["dvc", "status"], repo).stdout


def test_rerun_is_byte_identical(repo, reproduced):
    before = snapshot(repo)
    run(["dvc", "repro", "-f"], repo)
    after = snapshot(repo)
    assert before.keys() == after.keys()
    assert [k for k in before if before[k] != after[k]] == []


def test_push_clone_pull_runs_nothing(repo, reproduced, tmp_path):
    run(["dvc", "remote", "add", "-d", "shared", str(tmp_path / "remote")], repo)
    run(["git", "commit", "-qam", "remote"], repo)
    run(["dvc", "push"], repo)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    run(["dvc", "pull"], clone)
    assert (clone / "data/models/cnn.keras").is_file()
    proc = run(["dvc", "repro"], clone)
    assert ran_stages(proc) == [], proc.stdout


def test_quick_run_is_an_experiment_that_leaves_the_workspace_alone(repo, reproduced):
    (repo / ".venv").symlink_to(Path(sys.executable).parents[1])  # scripts/setup.sh: already set up
    before, status = snapshot(repo), run(["git", "status", "--porcelain"], repo).stdout
    proc = run(["bash", "scripts/quick.sh"], repo)
    out = proc.stdout + proc.stderr
    assert "quick: experiment quick ran in" in out
    assert set(ran_stages(proc)) >= {"preprocess", "train_cnn", "train_rnn", "summarize"}
    assert snapshot(repo) == before  # the committed results stay in the workspace
    assert run(["git", "status", "--porcelain"], repo).stdout == status
    shown = run(["dvc", "exp", "show", "--json"], repo).stdout
    assert '"name": "quick"' in shown, shown[:2000]
    assert (repo / "dvc_plots/index.html").is_file()


def test_quick_run_names_the_sets_it_knows(repo):
    proc = run(["bash", "scripts/quick.sh", "nosuch"], repo, check=False)
    assert proc.returncode == 2
    assert "configs/nosuch.yaml: no such file; the named sets are: quick" in proc.stderr
