"""The real `dvc repro` and `dvc exp run`, on a tiny configuration, in a temporary git repository.

Reads the real raw data from the mirror ../shared/data, as CI does.
"""

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests import browser
from tests.conftest import ROOT, SHARED_DATA
from tests.tiny import tiny_params

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs the real data mirror ../shared/data"),
]

RESULTS = ("dvc.lock", "metrics", "plots")


def dvc_env(extra=None) -> dict:
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "DVC_STUDIO_OFFLINE": "1",
        "DATA_MIRROR": str(SHARED_DATA),
        **(extra or {}),
    }
    # The venv's dvc and python, whatever the caller's PATH says.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def run(args, cwd, check=True, env=None):
    proc = subprocess.run(args, cwd=cwd, env=dvc_env(env), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def ran_stages(proc) -> list[str]:
    return [line.split("'")[1] for line in proc.stdout.splitlines() if line.startswith("Running stage")]


def snapshot(repo: Path) -> dict[str, bytes]:
    files = [p for d in ("metrics", "plots") for p in sorted((repo / d).rglob("*")) if p.is_file()]
    return {str(p.relative_to(repo)): p.read_bytes() for p in files}


def cache_files(repo: Path) -> set[Path]:
    return {p for p in (repo / ".dvc/cache").rglob("*") if p.is_file()}


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
        "download", "preprocess_fashion", "preprocess_tweets", "train_ae", "train_cnn", "train_transfer",
        "train_tweets@rnn", "train_tweets@charcnn", "train_ensemble", "baseline_text", "evaluate_images@ae",
        "evaluate_images@cnn", "evaluate_images@transfer", "evaluate_tweets@rnn", "evaluate_tweets@charcnn",
        "evaluate_tweets@ensemble", "summarize",
        "export@ae", "export@cnn", "export@transfer", "export@rnn", "export@charcnn", "export@ensemble",
    }  # fmt: skip
    x = np.load(repo / "data/prepared/fashion/x_train.npy")
    assert x.shape == (300, 28, 28) and x.dtype == np.uint8
    fashion = yaml.safe_load((repo / "metrics/data/fashion.json").read_text())
    tweet_stats = yaml.safe_load((repo / "metrics/data/tweets.json").read_text())
    assert fashion["test"]["rows"] == 100 and tweet_stats["rows_read"] == 13589
    assert sum(tweet_stats[s]["rows"] for s in ("train", "val", "test")) == 400
    for name in ("ae", "cnn", "transfer", "rnn", "charcnn", "ensemble", "tfidf"):
        assert (repo / f"metrics/evaluate/{name}.json").is_file()
    # Each training stage's cost beside its quality, for `dvc exp show`; each evaluation's too.
    for name in ("ae", "cnn", "transfer", "rnn", "charcnn"):
        assert json.loads((repo / f"metrics/train/{name}/metrics.json").read_text())["train_flops"] > 0
    for name in ("ae", "cnn", "transfer", "rnn", "charcnn", "ensemble"):
        assert json.loads((repo / f"metrics/evaluate/{name}.json").read_text())["predict_flops"] > 0
    # The classifiers' train and test figures; their validation ones are in their training curves.
    for name in ("cnn", "transfer"):
        figures = json.loads((repo / f"metrics/evaluate/{name}.json").read_text())
        assert set(figures) == {"train", "test", "predict_flops"}, name
    # The RNN refits with average_fits (params.yaml): its file holds both fits and their mean.
    with zipfile.ZipFile(repo / "data/models/rnn.keras") as saved:
        layers = json.loads(saved.read("config.json"))["config"]["layers"]
    assert [layer["name"] for layer in layers] == ["tweet", "rnn_1", "rnn_2", "kinds"]
    # The models trained with Muon (pipeline/muon.py) are saved without it: they load anywhere.
    for name in ("ae", "cnn"):
        with zipfile.ZipFile(repo / f"data/models/{name}.keras") as saved:
            assert b"Muon" not in saved.read("config.json"), name
    chosen = json.loads((repo / "metrics/train/ensemble/metrics.json").read_text())
    assert set(chosen["weights"]) == {"rnn", "charcnn"} and sum(chosen["weights"].values()) == pytest.approx(1)
    assert "| ensemble (train_ensemble) | test micro ROC-AUC" in (repo / "metrics/summary.md").read_text()
    assert (repo / "plots/evaluate/ae/reconstructions.png").is_file()
    assert "| deep CNN (train_cnn) | test accuracy" in (repo / "metrics/summary.md").read_text()
    for name in ("ae", "cnn", "transfer", "rnn", "charcnn", "ensemble"):
        assert (repo / f"data/exported/{name}/1/saved_model.pb").is_file()
    assert run(["git", "status", "--porcelain"], repo).stdout == ""  # outputs git-ignored or committed


def test_training_stages_say_their_hardware_path_and_tensorflow_stays_quiet(repo, reproduced):
    out = reproduced.stdout + reproduced.stderr
    for stage, model in (("train_ae", "ae"), ("train_cnn", "cnn"), ("train_transfer", "transfer"),
                         ("train_tweets@rnn", "rnn"), ("train_tweets@charcnn", "charcnn")):  # fmt: skip
        # The stage's first line: device, CPU flags or GPU, threads, precision and why.
        first = [line for line in out.splitlines() if line.startswith(f"{stage}: ")][0]
        assert " threads; precision " in first, first
        # On x86, oneDNN's kernels, even where TensorFlow alone would leave them off (AVX2 only).
        assert platform.machine() != "x86_64" or "oneDNN off" not in first, first
        trained = json.loads((repo / f"metrics/train/{model}/metrics.json").read_text())
        assert trained["device"] == "cpu" and trained["precision"] in ("float32", "mixed_bfloat16")
    for noise in ("cuInit", "absl::InitializeLog", "oneDNN custom operations", "NodeDef mentions",
                  "destroy the mask", "Traceback"):  # fmt: skip
        assert noise not in out, noise
    assert "train_transfer: embedding the training images: 300/300 (100%)" in out


def vega_plots_expected(repo: Path) -> int:
    """A figure per training-curve file (one per quantity and model) and the two confusion matrices."""
    return len(list((repo / "metrics/train").glob("*/curves/*.json"))) + 2


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
    # One figure per quantity and model, train and validation in it: each curve drawn once.
    files = sorted(str(p.relative_to(repo)) for p in (repo / "metrics/train").glob("*/curves/*.json"))
    curves = {name: drawn for name, drawn in plots["data"].items() if "/curves/" in name}
    cnn_with_val = yaml.safe_load((repo / "params.yaml").read_text())["train_cnn"]["with_val"]
    assert sorted(curves) == files and len(files) >= 11, sorted(curves)
    for name, drawn in curves.items():
        quantity = Path(name).stem
        (figure,) = drawn
        content = figure["content"]
        assert content["encoding"]["y"]["title"] == quantity and content["encoding"]["x"]["title"] == "epoch"
        splits = {row["split"] for row in content["data"]["values"]}
        # With train_cnn.with_val the CNN learns from the validation split too: nothing to validate on.
        train_only = quantity == "learning_rate" or ("/train/cnn/" in name and cnn_with_val)
        assert splits == ({"validation"} if quantity == "auc_micro" else {"train"} if train_only
                          else {"train", "validation"}), (name, splits)  # fmt: skip
    vega = [name for name, drawn in plots["data"].items() if drawn and drawn[0]["type"] == "vega"]
    assert len(vega) == vega_plots_expected(repo), sorted(vega)
    assert "plots/evaluate/ae/reconstructions.png" in plots["data"]


@pytest.mark.parametrize(
    ("edited", "kind"), [("pipeline/fashion.py", "image"), ("pipeline/tweets.py", "tweet")]
)  # fmt: skip
def test_an_edit_to_one_kind_of_data_leaves_the_other_kinds_stages_up_to_date(repo, reproduced, edited, kind):
    path = repo / edited
    committed = path.read_text()
    path.write_text(committed + "# an edit\n")
    try:
        status = json.loads(run(["dvc", "status", "--json"], repo).stdout)
    finally:
        path.write_text(committed)
    tweet = ("preprocess_tweets", "train_tweets", "train_ensemble", "baseline_text", "evaluate_tweets")
    changed = set(status)
    assert changed, "dvc status saw no edit"
    other = {s for s in changed if s.startswith(tweet) or s.split("@")[-1] in ("rnn", "charcnn", "ensemble")}
    assert (other if kind == "image" else changed - other) == set(), sorted(changed)


def test_one_models_param_reruns_only_that_model(repo, reproduced):
    proc = run(["dvc", "exp", "run", "-S", "train_charcnn.filters=6", "--name", "narrow"], repo)
    assert set(ran_stages(proc)) == {
        "train_tweets@charcnn",
        "evaluate_tweets@charcnn",
        "train_ensemble",
        "evaluate_tweets@ensemble",
        "summarize",
        "export@charcnn",
        "export@ensemble",
    }
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


def start_dvc(args, cwd) -> subprocess.Popen:
    # Its own process group, so that a kill reaches the stage's python under dvc as well.
    return subprocess.Popen(
        args,
        cwd=cwd,
        env=dvc_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for_line(proc: subprocess.Popen, text: str) -> list[str]:
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never appeared:\n{''.join(seen)}")


def test_a_training_stage_killed_mid_epoch_leaves_nothing_partial_and_the_rerun_is_identical(repo, reproduced):
    params = repo / "params.yaml"
    committed = params.read_text()
    longer = yaml.safe_load(committed)
    longer["train_charcnn"]["epochs"] = 8  # long enough to be killed in the middle
    params.write_text(yaml.safe_dump(longer, sort_keys=False))
    try:
        run(["dvc", "repro"], repo)  # the uninterrupted run
        before = snapshot(repo)
        cache = cache_files(repo)
        model = repo / "data/models/charcnn.keras"
        trained = model.read_bytes()
        proc = start_dvc(["dvc", "repro", "-f", "--single-item", "train_tweets@charcnn"], repo)
        wait_for_line(proc, "Epoch 3/")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        assert not model.exists()  # no half-written model under the output's name
        assert cache_files(repo) == cache  # nor in the cache
        assert "train_tweets@charcnn" in run(["dvc", "status"], repo).stdout  # DVC knows it did not finish
        run(["dvc", "repro"], repo)
        assert "up to date" in run(["dvc", "status"], repo).stdout
        after = snapshot(repo)
        assert [k for k in before if before[k] != after.get(k)] == []
        assert model.read_bytes() == trained  # the model too
    finally:
        params.write_text(committed)
        run(["git", "checkout", "HEAD", "--", "."], repo)  # HEAD: dvc's autostage staged the changes
        run(["dvc", "checkout", "--force"], repo)
    assert "up to date" in run(["dvc", "status"], repo).stdout


def test_a_second_repro_in_the_same_checkout_stops_at_once_on_dvcs_lock(repo, reproduced):
    first = start_dvc(["dvc", "repro", "-f", "--single-item", "train_tweets@charcnn"], repo)
    try:
        wait_for_line(first, "Running stage")
        start = time.perf_counter()
        second = run(["dvc", "repro"], repo, check=False)
        assert second.returncode != 0 and time.perf_counter() - start < 60
        # DVC's locks: the repository lock, or the read/write lock on the outputs being written.
        said = second.stdout + second.stderr
        assert "Unable to acquire lock" in said or "is busy, it is being blocked by" in said, said
    finally:
        rest = first.communicate(timeout=600)[0]
    assert first.returncode == 0, rest
    # The first finished and, models being byte-stable, made the very model it had made before:
    # nothing after it needs a rerun.
    assert "up to date" in run(["dvc", "status"], repo).stdout


def lock_md5(repo: Path, stage: str, out: str) -> str:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return next(o["md5"] for o in lock["stages"][stage]["outs"] if o["path"] == out)


def restore(repo: Path) -> None:
    run(["git", "checkout", "HEAD", "--", "."], repo)  # HEAD: dvc's autostage staged the changes
    run(["dvc", "checkout", "--force"], repo)
    assert "up to date" in run(["dvc", "status"], repo).stdout


def test_a_full_disk_while_saving_a_model_is_one_line_naming_it_and_leaves_nothing_partial(repo, reproduced):
    """data/models on a real filesystem (tmpfs) with room for the other models and half of this one."""
    models, model = repo / "data/models", repo / "data/models/ensemble.keras"
    before = snapshot(repo)
    cache = cache_files(repo)
    others = [p for p in models.iterdir() if p.is_file() and p != model]
    page = 4096
    size = sum(-(-p.stat().st_size // page) * page for p in others) + model.stat().st_size // 2
    aside = {p.name: p.read_bytes() for p in others}
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(models)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        for name, data in aside.items():
            (models / name).write_bytes(data)
        proc = run(["dvc", "repro", "-f", "--single-item", "train_ensemble"], repo, check=False)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr
        said = [line for line in proc.stderr.splitlines() if line.startswith("train_ensemble: ")]
        assert said[-1] == (
            "train_ensemble: no space left on device writing data/models/ensemble.keras; "
            "free space on that disk and run `dvc repro` again"
        ), proc.stderr
        assert sorted(p.name for p in models.iterdir()) == sorted(aside)  # no partial model, no temporary file
        assert cache_files(repo) == cache
    finally:
        subprocess.run(["umount", str(models)], check=True)
    # Nothing lost: with room again, the model and every result are back as they were.
    run(["dvc", "repro"], repo)
    assert snapshot(repo) == before
    restore(repo)


def test_a_damaged_model_in_the_cache_is_detected_and_dvc_pull_or_a_rerun_restores_it(repo, reproduced, tmp_path):
    out = "data/models/ensemble.keras"
    model, before = repo / out, snapshot(repo)
    md5 = lock_md5(repo, "train_ensemble", out)
    obj = repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    original = obj.read_bytes()
    # A backup remote in this checkout's local config only, so that no other test sees it.
    run(["dvc", "remote", "add", "--local", "backup", str(tmp_path / "backup")], repo)
    try:
        run(["dvc", "push", "-r", "backup", out], repo)

        def damage():
            obj.chmod(0o644)
            with open(obj, "r+b") as f:  # one byte flipped in the middle, the size unchanged
                f.seek(len(original) // 2)
                f.write(bytes([original[len(original) // 2] ^ 0xFF]))
            model.unlink()

        damage()
        # What DVC detects: the object no longer matches its name, so it is not in the cache; a
        # checkout refuses to put it in the workspace.
        status = run(["dvc", "status"], repo).stdout
        assert "not in cache" in status and out in status, status
        checkout = run(["dvc", "checkout", out], repo, check=False)
        assert checkout.returncode != 0 and "Checkout failed" in checkout.stderr and not model.exists()

        # Recovery 1: from a remote.
        run(["dvc", "pull", "-r", "backup", out], repo)
        assert model.read_bytes() == original and obj.read_bytes() == original
        assert "up to date" in run(["dvc", "status"], repo).stdout

        # Recovery 2, without a remote: rerun the stage that makes it, then what follows it.
        damage()
        run(["dvc", "repro", "-f", "--single-item", "train_ensemble"], repo)
        run(["dvc", "repro"], repo)
        assert "up to date" in run(["dvc", "status"], repo).stdout
        assert snapshot(repo) == before  # the same results, byte for byte
    finally:
        run(["dvc", "remote", "remove", "--local", "backup"], repo)
        restore(repo)


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
    # The model registry: a version registered with a GTO tag (what `gto register` writes), then
    # the model fetched by its name in dvc.yaml's artifacts, from outside any checkout.
    run(["git", "tag", "-a", "ensemble@v1.0.0", "-m", "Registering artifact ensemble version v1.0.0"], repo)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run(["dvc", "artifacts", "get", str(repo), "ensemble"], elsewhere)
    assert (elsewhere / "ensemble.keras").read_bytes() == (repo / "data/models/ensemble.keras").read_bytes()
    # An exported model by name, once a version is registered: TF Serving's model folder.
    run(["git", "tag", "-a", "cnn-serving@v1.0.0", "-m", "Registering artifact cnn-serving version v1.0.0"], repo)
    run(["dvc", "artifacts", "get", str(repo), "cnn-serving"], elsewhere)
    assert sorted(p.name for p in (elsewhere / "cnn").iterdir()) == ["1", "model.onnx"]
    assert (elsewhere / "cnn/1/saved_model.pb").read_bytes() == (
        repo / "data/exported/cnn/1/saved_model.pb"
    ).read_bytes()


def test_quick_run_is_an_experiment_that_leaves_the_workspace_alone(repo, reproduced):
    (repo / ".venv").symlink_to(Path(sys.executable).parents[1])  # scripts/setup.sh: already set up
    before, status = snapshot(repo), run(["git", "status", "--porcelain"], repo).stdout
    proc = run(["bash", "scripts/quick.sh"], repo)
    out = proc.stdout + proc.stderr
    assert "quick: experiment quick ran in" in out
    assert set(ran_stages(proc)) >= {"preprocess_fashion", "train_cnn", "train_tweets@rnn", "summarize"}
    assert not [stage for stage in ran_stages(proc) if stage.startswith("export@")]
    assert snapshot(repo) == before  # the committed results stay in the workspace
    assert run(["git", "status", "--porcelain"], repo).stdout == status
    shown = run(["dvc", "exp", "show", "--json"], repo).stdout
    assert '"name": "quick"' in shown, shown[:2000]
    assert (repo / "dvc_plots/index.html").is_file()


def test_quick_run_names_the_sets_it_knows(repo):
    proc = run(["bash", "scripts/quick.sh", "nosuch"], repo, check=False)
    assert proc.returncode == 2
    assert "configs/nosuch.yaml: no such file; the named sets are: best quick" in proc.stderr


# ----------------------------------------------------------------------------- beyond one machine

BUCKET = "pipeline-store"
# Credentials come from the environment, never from a file in git: moto accepts any.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3():
    """A real S3 API (moto's server mode) on 127.0.0.1, with one empty bucket; its endpoint URL."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint, client
    server.stop()


@pytest.fixture(scope="module")
def origin(repo, reproduced, s3, tmp_path_factory):
    """`repo` shared as a team would: its S3 remote the default, its git history in a bare repo."""
    endpoint, _ = s3
    run(["dvc", "remote", "add", "-f", "-d", "s3", f"s3://{BUCKET}/store"], repo)
    run(["dvc", "remote", "modify", "s3", "endpointurl", endpoint], repo)
    run(["git", "commit", "-qam", "S3 remote"], repo)
    start = time.perf_counter()
    run(["dvc", "push"], repo, env=AWS_ENV)
    run([sys.executable, "-m", "pipeline.runcache", "push"], repo, env=AWS_ENV)
    print(f"dvc push and the run cache to S3: {time.perf_counter() - start:.1f} s")
    bare = tmp_path_factory.mktemp("origin") / "project.git"
    run(["git", "init", "-q", "--bare", str(bare)], repo)
    run(["git", "push", "-q", str(bare), "HEAD:refs/heads/main"], repo)
    return bare


def clone(origin, where: Path) -> Path:
    run(["git", "clone", "-q", "-b", "main", str(origin), str(where)], where.parent)
    run(["git", "config", "user.email", "e2e@example.com"], where)
    run(["git", "config", "user.name", "e2e"], where)
    return where


def test_s3_remote_push_then_a_fresh_clone_pulls_everything_and_runs_nothing(origin, s3, tmp_path):
    _, client = s3
    stored = client.list_objects_v2(Bucket=BUCKET, Prefix="store/")
    assert stored["KeyCount"] > 0
    fresh = clone(origin, tmp_path / "fresh")
    run(["dvc", "pull"], fresh, env=AWS_ENV)
    assert (fresh / "data/models/ensemble.keras").is_file()
    proc = run(["dvc", "repro"], fresh, env=AWS_ENV)
    assert ran_stages(proc) == [], proc.stdout
    assert "Data and pipelines are up to date" in run(["dvc", "status"], fresh, env=AWS_ENV).stdout


def test_without_s3_credentials_pull_fails_with_a_message_not_a_hang(origin, tmp_path):
    fresh = clone(origin, tmp_path / "nocreds")
    proc = run(
        ["dvc", "pull", "data/models/cnn.keras"],
        fresh,
        check=False,
        env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"},
    )
    assert proc.returncode != 0 and not (fresh / "data/models/cnn.keras").exists()


@pytest.fixture(scope="module")
def third_machine(origin, tmp_path_factory):
    """Clones a and b stand for two machines: each runs its own experiment and pushes it (git refs
    to the bare origin, data and run cache to S3); clone c, returned, pulls both."""
    where = tmp_path_factory.mktemp("machines")
    a, b, c = (clone(origin, where / name) for name in "abc")
    for machine, override, name in ((a, "train_charcnn.filters=6", "narrow"), (b, "train_rnn.units=4", "small")):
        run(["dvc", "pull"], machine, env=AWS_ENV)
        ran = ran_stages(run(["dvc", "exp", "run", "-S", override, "-n", name], machine, env=AWS_ENV))
        assert ran and "train_cnn" not in ran  # only the stages the param reaches
        run(["dvc", "exp", "push", "origin", name], machine, env=AWS_ENV)
        # The run records and every file they name (`dvc push --run-cache` leaves out the
        # `cache: false` outputs' files, without which no other clone can restore the stage).
        pushed = run([sys.executable, "-m", "pipeline.runcache", "push"], machine, env=AWS_ENV)
        assert "run records and" in pushed.stderr, pushed.stderr
    for name in ("narrow", "small"):
        run(["dvc", "exp", "pull", "origin", name], c, env=AWS_ENV)
    return c


def test_experiments_from_two_machines_are_compared_on_a_third(third_machine):
    c = third_machine
    shown = json.loads(run(["dvc", "exp", "show", "--json"], c, env=AWS_ENV).stdout)
    experiments = {
        exp["name"]: exp["revs"][0]["data"]
        for commit in shown
        for exp in commit.get("experiments") or []
        if exp.get("name") in ("narrow", "small")
    }
    assert set(experiments) == {"narrow", "small"}
    for data in experiments.values():
        figures = data["metrics"]["metrics/evaluate/ensemble.json"]["data"]["test"]
        assert 0.0 <= figures["roc_auc_micro"] <= 1.0
    assert experiments["narrow"]["params"]["params.yaml"]["data"]["train_charcnn"]["filters"] == 6
    assert experiments["small"]["params"]["params.yaml"]["data"]["train_rnn"]["units"] == 4
    print(run(["dvc", "exp", "show", "--no-pager", "--md", "--only-changed"], c, env=AWS_ENV).stdout)
    drawn = json.loads(run(["dvc", "plots", "diff", "narrow", "small", "--json"], c, env=AWS_ENV).stdout)
    # Both experiments in one figure per training curve, and the ROC comparison of each.
    curve = drawn["data"]["metrics/train/charcnn/curves/loss.json"]
    assert {v["rev"] for d in curve for v in d["content"]["data"]["values"]} >= {"narrow", "small"}
    assert {d["revisions"][0] for d in drawn["data"]["plots/roc_comparison.png"]} >= {"narrow", "small"}


def test_an_experiment_pushed_from_one_machine_is_not_recomputed_on_another(third_machine, origin, tmp_path):
    """Machine b ran train_rnn.units=4 and pushed its run cache (pipeline.runcache); a fourth clone
    asking for the same experiment gets every stage's results from the remote and runs none."""
    d = clone(origin, tmp_path / "d")
    run(["dvc", "pull"], d, env=AWS_ENV)
    proc = run(["dvc", "exp", "run", "--pull", "-S", "train_rnn.units=4", "-n", "again"], d, env=AWS_ENV)
    print(proc.stdout)
    assert ran_stages(proc) == [], proc.stdout
    for stage in ("train_tweets@rnn", "evaluate_tweets@rnn", "train_ensemble", "evaluate_tweets@ensemble", "summarize"):
        assert f"Stage '{stage}' is cached - skipping run" in proc.stdout, stage


# ----------------------------------------------------------------------------- in a real browser


def page_in_chromium(cwd: Path, command: list[str], name: str) -> browser.Rendered:
    """`dvc plots show|diff ...` with the offline template, opened in Chromium: every vega plot DVC
    lists has drawn marks, every picture it lists loaded, no console error, no network request."""
    if not browser.OFFLINE_TEMPLATE.is_file():
        raise AssertionError(f"{browser.OFFLINE_TEMPLATE} is missing; scripts/setup.sh --tests builds it")
    listed = json.loads(run([*command, "--json"], cwd, env=AWS_ENV).stdout)
    assert not listed.get("errors"), listed["errors"]
    vega = [plot for plot, drawn in listed["data"].items() if drawn and drawn[0]["type"] == "vega"]
    pictures = [d for drawn in listed["data"].values() for d in drawn if d["type"] == "image"]
    out = cwd / f"{name}_html"
    run([*command, "--out", str(out), "--html-template", str(browser.OFFLINE_TEMPLATE)], cwd, env=AWS_ENV)
    rendered = browser.render(out / "index.html", browser.ARTIFACTS / f"{name}.png")
    print(f"{name}: {len(rendered.plots)} vega plots, {len(rendered.pictures)} pictures; {rendered.screenshot}")
    assert rendered.console_errors == [] and rendered.network_requests == []
    assert len(vega) == rendered.divs == len(rendered.plots), "a plot was never embedded"
    not_drawn = {plot: marks for plot, marks in rendered.plots.items() if not isinstance(marks, int) or marks == 0}
    assert not_drawn == {}, not_drawn
    assert len(rendered.pictures) == len(pictures) and all(rendered.pictures.values()), rendered.pictures
    assert rendered.screenshot.stat().st_size > 0
    return rendered


def test_plots_show_page_draws_every_plot_and_picture_in_headless_chromium_offline(repo, reproduced):
    rendered = page_in_chromium(repo, ["dvc", "plots", "show"], "plots-show")
    # Each figure once (treeverse/dvc#9637 draws a file twice when a stage and the top-level plots
    # both name it): a curve figure per quantity and model, two confusion matrices; the pictures:
    # the reconstructions, the ROC per kind of four tweet models, the ROC comparison.
    assert len(rendered.plots) == vega_plots_expected(repo) and len(rendered.pictures) == 6


def test_plots_diff_page_of_two_experiments_draws_both_in_headless_chromium_offline(third_machine):
    rendered = page_in_chromium(third_machine, ["dvc", "plots", "diff", "narrow", "small"], "plots-diff")
    assert len(rendered.pictures) == 2 * 6
    assert {src.split("/")[-1].split("_")[0] for src in rendered.pictures} == {"narrow", "small"}
