"""The exported models, read as a user outside this repository reads them: each client runs in a
fresh Python process started with `-I` (no project code, no PYTHONPATH, no current folder on
sys.path), and `saved_model_cli`, a client nobody here wrote."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from pipeline import export, predict, training, tweets
from pipeline.models import autoencoder, charcnn, cnn, ensemble, rnn, text, transfer
from tests.conftest import ROOT, make_tweets
from tests.tiny import architecture, section, small_application

# The stage as dvc runs it, from a checkout: the project's code importable, Python's hash seed
# fixed as dvc.yaml's command fixes it.
STAGE_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}
SAVED_MODEL_CLI = Path(sys.executable).with_name("saved_model_cli")
TWEETS = ["Sunny and warm in Austin today", "Storm warning: heavy rain and wind tonight", "Snow again?! So cold"]

# A plain process: loads the SavedModel with TensorFlow alone, answers the good batch, and tries
# each bad one; prints what happened as JSON.
SAVED_MODEL_CLIENT = """
import importlib.util, json, sys, time
import numpy as np
assert importlib.util.find_spec("pipeline") is None, "the project's code is importable"
import tensorflow as tf
folder, inputs, out = sys.argv[1:]
start = time.perf_counter()
serve = tf.saved_model.load(folder).signatures["serving_default"]
load_seconds = time.perf_counter() - start
(name,) = serve.structured_input_signature[1]
batches = dict(np.load(inputs))
result = {"load_seconds": load_seconds, "bad": {}}
np.savez(out, **{k: v.numpy() for k, v in serve(**{name: tf.constant(batches.pop("good"))}).items()})
for case, batch in batches.items():
    try:
        answer = serve(**{name: tf.constant(batch)})
        result["bad"][case] = "answered " + str({k: v.shape.as_list() for k, v in answer.items()})
    except Exception as e:
        result["bad"][case] = type(e).__module__.split(".")[0] + " " + type(e).__name__
print(json.dumps(result))
"""

ONNX_CLIENT = """
import importlib.util, json, sys
import numpy as np
import onnxruntime as ort
assert importlib.util.find_spec("pipeline") is None, "the project's code is importable"
path, inputs, out = sys.argv[1:]
session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
batches = dict(np.load(inputs))
names = [o.name for o in session.get_outputs()]
np.savez(out, **dict(zip(names, session.run(None, {"images": batches.pop("good")}))))
bad = {}
for case, batch in batches.items():
    try:
        bad[case] = "answered " + str([a.shape for a in session.run(None, {"images": batch})])
    except Exception as e:
        bad[case] = type(e).__module__.split(".")[0] + " " + type(e).__name__
print(json.dumps({"bad": bad, "tensorflow_imported": "tensorflow" in sys.modules}))
"""


def plain_python(code: str, *args, cwd: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-I", "-c", textwrap.dedent(code), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def images(n: int = 7) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (n, 28, 28), dtype=np.uint8)


IMAGE_BATCHES = {
    "good": images(),
    "wrong_shape": images()[:, :, :27],
    "wrong_dtype": images().astype("float32"),
    "empty": images()[:0],
}
TWEET_BATCHES = {
    "good": np.array(TWEETS),
    "wrong_shape": np.array(TWEETS).reshape(-1, 1),
    "wrong_dtype": np.arange(3, dtype="float32"),
    "empty": np.array([], dtype=str),
}


def tiny_models(tmp_path: Path) -> dict:
    """One untrained model of each kind, built by the project's builders and saved as the
    train_* stages save them."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    training.seed_everything(0)
    texts = tweets.clean(make_tweets().astype(str))[0]["tweet"].to_numpy(dtype=object)
    classifier = cnn.build(**architecture("train_cnn", cnn.build, filters=[4, 8], convs_per_block=[1, 1]))
    features = transfer.features_from_params(
        section("train_transfer", weights=small_application(tmp_path), input_size=32, pooling="avg")
    )
    members = {
        "rnn": rnn.from_params(texts, section("train_rnn", sequence_length=12)),
        "charcnn": charcnn.from_params(texts, section("train_charcnn", kernel_sizes=[2, 3])),
    }
    models = {
        "ae": autoencoder.build(filters=[4, 8], code_size=8),
        "cnn": cnn.with_flip_averaging(classifier),
        "transfer": transfer.combine(features, transfer.build_head(256, l2=0.0)),
        **members,
        "ensemble": ensemble.build(members=members, weights={"rnn": 0.6, "charcnn": 0.4}),
    }
    paths = {}
    for name, model in models.items():
        paths[name] = tmp_path / f"{name}.keras"
        model.save(paths[name])
        training.byte_stable(paths[name])
    return paths


def project_outputs(path: Path) -> dict:
    """What the project's own predict path gives for the good batch."""
    model = training.load(path)
    kind = training.kind(model)
    if kind == "tweets":
        return {"scores": text.predict(model, TWEETS)}
    if kind == "classifier":
        return {"probabilities": training.predict(model, IMAGE_BATCHES["good"], "test")}
    recon, codes = export.with_code(model).predict(IMAGE_BATCHES["good"], verbose=0)
    return {"reconstructions": recon, "codes": codes}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each tiny model saved as its train_* stage saves it and exported by the export stage's
    `main`, all in one fresh process started as dvc.yaml starts the stage (one TensorFlow start
    for the six), with the project's outputs to compare."""
    where = tmp_path_factory.mktemp("export")
    (where / "params.yaml").write_bytes((ROOT / "params.yaml").read_bytes())
    paths = tiny_models(where / "data" / "models")
    code = "import sys\nfrom stages import export\nfor name in sys.argv[1:]:\n    export.main([name])"
    done = subprocess.run(
        [sys.executable, "-c", code, *paths], cwd=where, capture_output=True, text=True, env=STAGE_ENV
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    np.savez(where / "images.npz", **IMAGE_BATCHES)
    np.savez(where / "tweets.npz", **TWEET_BATCHES)
    return where, {name: project_outputs(path) for name, path in paths.items()}


def run_stage(name: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "stages.export", name],
        cwd=cwd, capture_output=True, text=True, env=STAGE_ENV,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done


MODELS = ["ae", "cnn", "transfer", "rnn", "charcnn", "ensemble"]


@pytest.mark.parametrize("name", MODELS)
def test_a_plain_process_loads_the_export_and_gives_the_project_outputs(exported, name, tmp_path):
    where, expected = exported
    batches = "tweets.npz" if name in ("rnn", "charcnn", "ensemble") else "images.npz"
    result = plain_python(
        SAVED_MODEL_CLIENT, where / "data/exported" / name / "1", where / batches, tmp_path / "o.npz", cwd=tmp_path
    )
    got = dict(np.load(tmp_path / "o.npz"))
    assert got.keys() == expected[name].keys()
    for key, value in expected[name].items():
        assert got[key].dtype == np.float32 and got[key].shape == value.shape
        np.testing.assert_allclose(got[key], value, rtol=0, atol=1e-6)
    # Bad input fails with TensorFlow's own error, never an answer.
    assert set(result["bad"]) == {"wrong_shape", "wrong_dtype", "empty"}
    assert all(outcome.startswith("tensorflow ") for outcome in result["bad"].values()), result["bad"]
    assert result["bad"]["empty"] == "tensorflow InvalidArgumentError"


@pytest.mark.parametrize("name", ["ae", "cnn", "transfer"])
def test_onnx_of_an_image_model_runs_without_tensorflow(exported, name, tmp_path):
    where, expected = exported
    result = plain_python(
        ONNX_CLIENT,
        where / "data/exported" / name / "model.onnx",
        where / "images.npz",
        tmp_path / "o.npz",
        cwd=tmp_path,
    )
    assert not result["tensorflow_imported"]
    got = dict(np.load(tmp_path / "o.npz"))
    assert got.keys() == expected[name].keys()
    for key, value in expected[name].items():
        np.testing.assert_allclose(got[key], value, rtol=0, atol=1e-5)
    assert result["bad"]["wrong_shape"] == result["bad"]["wrong_dtype"] == "onnxruntime InvalidArgument"
    # tf2onnx drops TensorFlow's assertions: an empty batch gets an empty answer (docs/models.md).
    assert result["bad"]["empty"].startswith("answered")


def test_the_onnx_source_of_a_bfloat16_model_computes_in_float32_with_the_same_weights():
    training.seed_everything(0)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = cnn.build(**architecture("train_cnn", cnn.build, filters=[4, 8], convs_per_block=[1, 1]))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    copy = export.float32_copy(model)
    assert {layer.dtype_policy.name for layer in model.layers} >= {"mixed_bfloat16"}
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), copy.get_weights(), strict=True))
    x = IMAGE_BATCHES["good"].astype("float32")
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0), atol=0.05)
    assert export.float32_copy(copy) is copy  # a float32 model is used as it is


def test_only_image_models_have_an_onnx_file(exported):
    where, _ = exported
    have = {p.parent.name for p in (where / "data/exported").glob(f"*/{export.ONNX_FILE}")}
    assert have == {"ae", "cnn", "transfer"}
    assert sorted(p.name for p in (where / "data/exported/cnn").iterdir()) == ["1", "model.onnx"]


def test_saved_model_cli_shows_the_signature(exported):
    where, _ = exported
    shown = {}
    for name in ("cnn", "ensemble"):
        shown[name] = subprocess.run(
            [SAVED_MODEL_CLI, "show", "--dir", where / "data/exported" / name / "1", "--tag_set", "serve",
             "--signature_def", "serving_default"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    assert "inputs['images']" in shown["cnn"] and "DT_UINT8" in shown["cnn"] and "shape: (-1, 28, 28)" in shown["cnn"]
    assert "outputs['probabilities']" in shown["cnn"] and "shape: (-1, 10)" in shown["cnn"]
    assert "inputs['tweets']" in shown["ensemble"] and "DT_STRING" in shown["ensemble"]
    assert "outputs['scores']" in shown["ensemble"] and "shape: (-1, 15)" in shown["ensemble"]


def cli_run(folder: Path, *inputs, outdir: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [SAVED_MODEL_CLI, "run", "--dir", folder, "--tag_set", "serve", "--signature_def", "serving_default"]
    if outdir:
        cmd += ["--outdir", outdir, "--overwrite"]
    return subprocess.run([*cmd, *inputs], capture_output=True, text=True)


def test_saved_model_cli_run_answers_an_image_file(exported, tmp_path):
    where, expected = exported
    np.save(tmp_path / "x.npy", IMAGE_BATCHES["good"])
    done = cli_run(where / "data/exported/cnn/1", "--inputs", f"images={tmp_path / 'x.npy'}", outdir=tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "out/probabilities.npy"), expected["cnn"]["probabilities"], atol=1e-6)


def test_saved_model_cli_run_answers_tweets(exported, tmp_path):
    where, expected = exported
    done = cli_run(where / "data/exported/ensemble/1", "--input_exprs", f"tweets={TWEETS!r}", outdir=tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "out/scores.npy"), expected["ensemble"]["scores"], atol=1e-6)


@pytest.mark.parametrize("case", ["wrong_shape", "empty"])
def test_saved_model_cli_run_refuses_a_bad_batch(exported, tmp_path, case):
    # (A float batch it casts to the signature's uint8 itself, as TF1 sessions convert a feed.)
    where, _ = exported
    np.save(tmp_path / "x.npy", IMAGE_BATCHES[case])
    done = cli_run(where / "data/exported/cnn/1", "--inputs", f"images={tmp_path / 'x.npy'}")
    refusal = {"wrong_shape": "Cannot feed value of shape (7, 28, 27)", "empty": "InvalidArgumentError"}[case]
    assert done.returncode != 0 and refusal in done.stderr and "Result for output" not in done.stdout


def test_the_export_stage_is_byte_stable(exported, tmp_path):
    where, _ = exported
    runs = []
    for _ in range(2):
        for name in ("cnn", "ensemble"):
            run_stage(name, where)
        runs.append({p: p.read_bytes() for p in sorted((where / "data/exported").rglob("*")) if p.is_file()})
    assert runs[0].keys() == runs[1].keys()
    assert [str(p) for p in runs[0] if runs[0][p] != runs[1][p]] == []


def test_the_onnx_export_refuses_a_random_hash_seed_and_keeps_the_previous_export(exported):
    where, _ = exported
    before = (where / "data/exported/cnn/model.onnx").read_bytes()
    env = {key: value for key, value in STAGE_ENV.items() if key != "PYTHONHASHSEED"}
    done = subprocess.run(
        [sys.executable, "-m", "stages.export", "cnn"], cwd=where, capture_output=True, text=True, env=env
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "export: ONNX export needs Python's hash seed fixed for byte-stable output: "
        "run it as `PYTHONHASHSEED=0 python -m stages.export NAME` (dvc.yaml's command does)"
    )
    assert (where / "data/exported/cnn/model.onnx").read_bytes() == before


def test_no_optimiser_state_in_the_export(exported):
    where, _ = exported
    import tensorflow as tf

    keys = tf.train.load_checkpoint(str(where / "data/exported/cnn/1/variables/variables")).get_variable_to_shape_map()
    assert keys and not [k for k in keys if "optimizer" in k.lower() or "momentum" in k.lower()]


@pytest.mark.parametrize("name, kind, columns", [("cnn", "images", 13), ("ensemble", "tweets", 16)])
def test_predict_gives_the_same_csv_from_the_export_as_from_the_keras_file(exported, tmp_path, name, kind, columns):
    where, _ = exported
    if kind == "images":
        np.save(tmp_path / "in.npy", IMAGE_BATCHES["good"])
        source = tmp_path / "in.npy"
    else:
        source = tmp_path / "in.csv"
        make_tweets(5).to_csv(source, index=False)
    outputs = []
    for model in (where / "data/models" / f"{name}.keras", where / "data/exported" / name):
        out = tmp_path / f"{model.name}.csv"
        assert predict.main([kind, str(model), str(source), str(out)]) == 0
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()[0].split(",")) == columns


def test_predict_names_a_folder_without_an_export(tmp_path, capsys):
    np.save(tmp_path / "in.npy", IMAGE_BATCHES["good"])
    (tmp_path / "cnn").mkdir()
    assert predict.main(["images", str(tmp_path / "cnn"), str(tmp_path / "in.npy"), str(tmp_path / "o.csv")]) == 2
    assert "no SavedModel in it; run `dvc repro export@cnn` first" in capsys.readouterr().err


def test_predict_refuses_the_autoencoder_export(exported, tmp_path, capsys):
    where, _ = exported
    np.save(tmp_path / "in.npy", IMAGE_BATCHES["good"])
    assert (
        predict.main(["images", str(where / "data/exported/ae"), str(tmp_path / "in.npy"), str(tmp_path / "o.csv")])
        == 2
    )
    assert "is the autoencoder: it gives images" in capsys.readouterr().err
