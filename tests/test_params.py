import copy
import subprocess
import sys

import pytest
import yaml

from pipeline import params
from pipeline.schema import SECTIONS, SHARED
from tests.conftest import ROOT


@pytest.fixture
def good():
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_committed_params_are_valid(good):
    assert params.validate(good) == good


def test_load_merges_base_into_section(tmp_path, good):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(good))
    p = params.load("train_cnn", path)
    assert p["seed"] == good["base"]["seed"]
    assert p["epochs"] == good["train_cnn"]["epochs"]


def test_load_checks_the_section_names_base_and_the_section_it_reads(tmp_path, good):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(mutate(good, "train_cnn.epochs", 0)))
    # Another section's mistake stops the stage that reads it, before it does any work.
    assert params.load("train_ae", path)["epochs"] == good["train_ae"]["epochs"]
    with pytest.raises(params.ParamsError, match="train_cnn.epochs: 0 is out of range"):
        params.load("train_cnn", path)
    path.write_text(yaml.safe_dump(mutate(good, "base.seed", -1)))
    with pytest.raises(params.ParamsError, match="base.seed: -1 is out of range"):
        params.load("train_ae", path)
    path.write_text(yaml.safe_dump({**good, "train_cnnn": {}}))
    with pytest.raises(params.ParamsError, match="train_cnnn: unknown key; allowed keys in params.yaml: base, "):
        params.load("train_ae", path)


def test_load_imports_the_schema_of_base_and_of_its_section_alone():
    # What dvc.yaml lists as the stage's deps (tests/test_dvc_deps.py reads the `params.load` calls).
    code = (
        "import sys; from pipeline import params; params.load('train_cnn'); "
        "print(*sorted(m for m in sys.modules if m.startswith('pipeline.schema')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["pipeline.schema", "pipeline.schema.base", "pipeline.schema.train_cnn"]


def test_each_section_has_one_schema_module_and_the_others_are_shared_by_sections():
    modules = {p.stem for p in (ROOT / "pipeline" / "schema").glob("*.py") if p.stem != "__init__"}
    assert modules == set(SECTIONS) | set(SHARED)
    for shared in SHARED:
        imports = f"pipeline.schema.{shared} import"
        users = [s for s in SECTIONS if imports in (ROOT / f"pipeline/schema/{s}.py").read_text()]
        assert len(users) >= 2, f"pipeline/schema/{shared}.py is shared by {users}: fold it into that section's module"


def mutate(good, dotted, value):
    bad = copy.deepcopy(good)
    *parents, last = dotted.split(".")
    node = bad
    for k in parents:
        node = node[k]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return bad


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("train_cnn.epoch", 3, "train_cnn.epoch: unknown key; allowed keys in train_cnn: stem_filters, filters"),
        ("train_cnn.epochs", "ten", "train_cnn.epochs: expected an integer from 1 to 1000, got 'ten'"),
        ("train_cnn.epochs", 0, "train_cnn.epochs: 0 is out of range; allowed from 1 to 1000"),
        ("train_cnn.epochs", True, "expected an integer"),
        ("train_cnn.dropout", 1.5, "train_cnn.dropout: 1.5 is out of range"),
        ("train_cnn.learning_rate", 0.0, "train_cnn.learning_rate: must be greater than 0.0"),
        ("train_cnn.augment.flip", "yes", "train_cnn.augment.flip: expected true or false"),
        ("train_cnn.augment.rotate", 10, "train_cnn.augment.rotate: unknown key"),
        ("train_cnn.augment.erase", 1.5, "train_cnn.augment.erase: 1.5 is out of range; allowed from 0.0 to 1.0"),
        (
            "train_cnn.precision",
            "float16",
            "train_cnn.precision: got 'float16', allowed values: auto, float32, mixed_bfloat16",
        ),
        ("train_rnn.cell", "rnn", "train_rnn.cell: got 'rnn', allowed values: gru, lstm"),
        ("train_rnn.loss", "mse", "allowed values: softmax, sigmoid"),
        ("train_rnn.tokens", "chars", "train_rnn.tokens: got 'chars', allowed values: words, subwords"),
        ("train_rnn.buckets", 100, "train_rnn.buckets: 100 is out of range; allowed from 1024"),
        ("train_rnn.embedding_skip", "no", "train_rnn.embedding_skip: expected true or false"),
        ("train_rnn.monitor", "val_auc", "train_rnn.monitor: got 'val_auc', allowed values: val_loss, val_auc_micro"),
        ("train_charcnn.lr_patience", -1, "train_charcnn.lr_patience: -1 is out of range; allowed from 0 to 1000"),
        ("train_rnn.refit", "yes", "train_rnn.refit: expected true or false, got 'yes'"),
        (
            "train_charcnn.average_fits",  # the default train_charcnn does not refit
            True,
            "train_charcnn.average_fits: true is used only with refit: true, not false; "
            "set average_fits: false or refit: true",
        ),
        ("train_rnn.schedule", "cosine", "train_rnn.schedule: got 'cosine', allowed values: plateau, one_cycle"),
        (
            "train_rnn.warmup",  # the default train_rnn is on plateaus
            0.2,
            "train_rnn.warmup: 0.2 is used only with schedule: one_cycle, not plateau; "
            "set warmup: 0 or schedule: one_cycle",
        ),
        (
            "train_charcnn.lr_patience",  # the default train_charcnn is on one cycle
            2,
            "train_charcnn.lr_patience: 2 is used only with schedule: plateau, not one_cycle; "
            "set lr_patience: 0 or schedule: plateau",
        ),
        (
            "train_ensemble.calibration_l2",  # the default train_ensemble does not calibrate
            0.01,
            "train_ensemble.calibration_l2: 0.01 is used only with calibrate: true, not false; "
            "set calibration_l2: 0 or calibrate: true",
        ),
        (
            "train_rnn.positive_weight_power",
            -0.5,
            "train_rnn.positive_weight_power: -0.5 is out of range; allowed from 0.0",
        ),
        ("train_ensemble.calibration_l2", -0.1, "train_ensemble.calibration_l2: -0.1 is out of range; allowed from 0"),
        ("baseline_text.with_val", 1, "baseline_text.with_val: expected true or false, got 1"),
        ("train_cnn.with_val", "yes", "train_cnn.with_val: expected true or false, got 'yes'"),
        ("train_charcnn.hidden_units", -1, "train_charcnn.hidden_units: -1 is out of range; allowed from 0"),
        ("train_charcnn.kernel_sizes", [3, "x"], "train_charcnn.kernel_sizes[1]: expected an integer"),
        ("train_charcnn.kernel_sizes", [], "expected a list of 1 to 8 items"),
        ("train_ae.code_size", 129, "train_ae.code_size: 129 is out of range; allowed from 1 to 128"),
        ("download.tweets", "all", "download.tweets: got 'all', allowed values: mirror, first8000, full"),
        ("preprocess.fashion.val_fraction", 0.7, "preprocess.fashion.val_fraction: 0.7 is out of range"),
        ("evaluate.ae_examples", KeyError, "evaluate.ae_examples: missing from evaluate"),
        ("nonsense", {}, "nonsense: unknown key; allowed keys in params.yaml: base"),
        (
            "train_cnn.convs_per_block",
            [2, 2],
            "train_cnn.convs_per_block: [2, 2] has 2 entries, filters [24, 48, 96] has 3; give one per block",
        ),
        ("base.distribute", "tpu", "base.distribute: got 'tpu', allowed values: auto, none, mirrored"),
        ("train_ensemble.members", ["rnn", "tfidf"], "train_ensemble.members[1]: got 'tfidf', allowed values: rnn"),
        (
            "train_ensemble.weights",
            [0.6, 0.6],
            "train_ensemble.weights: [0.6, 0.6] sums to 1.2; the weights must sum to 1",
        ),
        ("train_ensemble.weights", [1.5, -0.5], "train_ensemble.weights[0]: 1.5 is out of range"),
        (
            "train_ensemble.weights",
            [1.0],
            "train_ensemble.weights: [1.0] has 1 entries, members ['rnn', 'charcnn'] has 2; give one per member",
        ),
        ("evaluate.train_images", -1, "evaluate.train_images: -1 is out of range"),
    ],
)
def test_bad_values_name_the_key(good, key, value, message):
    with pytest.raises(params.ParamsError) as err:
        params.validate(mutate(good, key, value))
    assert message in str(err.value)


def test_positive_weights_need_the_sigmoid_loss(good):
    bad = mutate(mutate(good, "train_charcnn.loss", "softmax"), "train_charcnn.positive_weight_power", 0.25)
    with pytest.raises(params.ParamsError) as err:
        params.validate(bad)
    assert str(err.value) == (
        "train_charcnn.positive_weight_power: 0.25 is used only with loss: sigmoid, not softmax; "
        "set positive_weight_power: 0 or loss: sigmoid"
    )


def test_invalid_yaml_is_reported(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("base: [unclosed\n")
    with pytest.raises(params.ParamsError, match="not valid YAML"):
        params.load("base", path)


def test_every_named_override_set_is_valid_and_becomes_dvc_set_arguments(good, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    for config in sorted((ROOT / "configs").glob("*.yaml")):
        assert params.overrides_cli(["--overrides", str(config)]) == 0, config
        args = capsys.readouterr().out.splitlines()
        assert args[0::2] == ["-S"] * (len(args) // 2)
        overrides = yaml.safe_load(config.read_text())
        assert args[1::2] == params.flatten(overrides)[1::2]


def test_flatten_spells_values_as_dvc_set_reads_them():
    assert params.flatten({"a": {"b": [4, 8], "c": False}, "d": "x"}) == [
        "-S",
        "a.b=[4,8]",
        "-S",
        "a.c=false",
        "-S",
        "d=x",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train_ae: {epochz: 2}", "train_ae.epochz: unknown key; allowed keys: filters, code_size"),
        ("train_ae: {epochs: 0}", "train_ae.epochs: 0 is out of range"),
        ("- 1", "expected a mapping of params.yaml's sections"),
        ("a: [", "while parsing"),
    ],
)
def test_a_bad_override_set_is_one_line_naming_the_key(tmp_path, monkeypatch, capsys, text, message):
    monkeypatch.chdir(ROOT)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    assert params.overrides_cli(["--overrides", str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith(f"params: {bad}: ") and "\n" not in err.rstrip("\n")
