"""Loading params.yaml and checking every value against the schema below.

Each stage calls `load(section)` before doing any work, so a typo in a key, a wrong type
or an out-of-range value stops the run with an error that names the key and what it accepts.
The whole file is checked, not just the stage's section, so a mistake anywhere surfaces at the
first stage that runs.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")


class ParamsError(ValueError):
    pass


@dataclass(frozen=True)
class Int:
    lo: int | None = None
    hi: int | None = None

    def check(self, key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{key}: expected an integer{_range(self)}, got {value!r}")
        _check_range(self, key, value)
        return value


@dataclass(frozen=True)
class Float:
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # True: the lower bound itself is not allowed

    def check(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ParamsError(f"{key}: expected a number{_range(self)}, got {value!r}")
        if self.lo_open and value == self.lo:
            raise ParamsError(f"{key}: must be greater than {self.lo}{_range(self)}, got {value!r}")
        _check_range(self, key, value)
        return float(value)


@dataclass(frozen=True)
class Bool:
    def check(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{key}: expected true or false, got {value!r}")
        return value


@dataclass(frozen=True)
class Str:
    def check(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise ParamsError(f"{key}: expected a string, got {value!r}")
        return value


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]

    def check(self, key: str, value: Any) -> str:
        if value not in self.options:
            raise ParamsError(f"{key}: got {value!r}, allowed values: {', '.join(self.options)}")
        return value


@dataclass(frozen=True)
class ListOf:
    item: Any
    min_len: int = 1
    max_len: int = 16

    def check(self, key: str, value: Any) -> list:
        if not isinstance(value, list) or not self.min_len <= len(value) <= self.max_len:
            raise ParamsError(f"{key}: expected a list of {self.min_len} to {self.max_len} items, got {value!r}")
        return [self.item.check(f"{key}[{i}]", v) for i, v in enumerate(value)]


@dataclass(frozen=True)
class Weights:
    """Shares of a whole: numbers from 0 to 1 that sum to 1."""

    def check(self, key: str, value: Any) -> list[float]:
        shares = ListOf(Float(0.0, 1.0)).check(key, value)
        if not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
            raise ParamsError(f"{key}: {value!r} sums to {sum(shares):g}; the weights must sum to 1")
        return shares


def _range(spec) -> str:
    if spec.lo is not None and spec.hi is not None:
        return f" from {spec.lo} to {spec.hi}"
    if spec.lo is not None:
        return f" of at least {spec.lo}"
    if spec.hi is not None:
        return f" of at most {spec.hi}"
    return ""


def _check_range(spec, key: str, value) -> None:
    if (spec.lo is not None and value < spec.lo) or (spec.hi is not None and value > spec.hi):
        raise ParamsError(f"{key}: {value!r} is out of range; allowed{_range(spec)}")


EPOCHS = Int(1, 1000)
BATCH = Int(1, 65536)
LEARNING_RATE = Float(0.0, 1.0, lo_open=True)
DROPOUT = Float(0.0, 0.9)
DECAY = Float(0.0, 1.0)
PATIENCE = Int(0, 1000)
TEXT_LOSS = Choice(("softmax", "sigmoid"))
TEXT_MONITOR = Choice(("val_loss", "val_auc_micro"))  # pipeline.text_training.MONITOR_MODE
TEXT_SCHEDULE = Choice(("plateau", "one_cycle"))  # pipeline.text_training.learning_rate
TEXT_OPTIMIZER = Choice(("adam", "lazy_adam"))  # pipeline.text_training.OPTIMIZERS

SCHEMA: dict[str, Any] = {
    "base": {
        "seed": Int(0, 2**31 - 1),
        "distribute": Choice(("auto", "none", "mirrored")),  # pipeline.hardware.DISTRIBUTE
    },
    "download": {
        # mirror: the offline mirror's two files (13,589 rows); first8000: its first file alone;
        # full: all 77,946 rows (needs internet).
        "tweets": Choice(("mirror", "first8000", "full")),
        "timeout": Float(0.0, 3600.0, lo_open=True),
        "retries": Int(0, 10),
    },
    "preprocess": {
        "fashion": {
            "val_fraction": Float(0.0, 0.5, lo_open=True),
            # 0 keeps the whole split; tests and CI set small limits for quick runs.
            "max_train": Int(0),
            "max_val": Int(0),
            "max_test": Int(0),
        },
        "tweets": {
            "test_fraction": Float(0.0, 0.5, lo_open=True),
            "val_fraction": Float(0.0, 0.5, lo_open=True),
            "max_rows": Int(0),
        },
    },
    "train_ae": {
        "filters": ListOf(Int(1, 512), 1, 2),
        "code_size": Int(1, 128),
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "learning_rate": LEARNING_RATE,
        "patience": PATIENCE,
    },
    "train_cnn": {
        "stem_filters": Int(0, 1024),  # 0 = no stem convolution
        "filters": ListOf(Int(1, 1024), 1, 3),
        "convs_per_block": ListOf(Int(1, 4), 1, 3),  # one entry per entry of filters
        "pool_first": Bool(),
        "kernel_size": Int(1, 7),
        "activation": Choice(("relu", "gelu")),
        "batch_norm": Bool(),
        "head": Choice(("flatten", "max")),
        "dense_units": Int(0, 4096),
        "dropout": DROPOUT,
        "logit_scale": Float(0.0, 10.0, lo_open=True),
        "augment": {
            "flip": Bool(),
            "translate": Float(0.0, 0.3),
            "zoom": Float(0.0, 0.3),
            "erase": Float(0.0, 1.0),
        },
        "test_time_flip": Bool(),
        "precision": Choice(("auto", "float32", "mixed_bfloat16")),  # pipeline.hardware.PRECISIONS
        "optimizer": Choice(("sgd", "adamw")),
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "learning_rate": Float(0.0, 10.0, lo_open=True),
        "warmup": Float(0.0, 0.9),
        "weight_decay": DECAY,
        "label_smoothing": Float(0.0, 0.5),
        "with_val": Bool(),
    },
    "train_transfer": {
        # A keras.applications class name, or "hub" to load `hub_handle` with tensorflow_hub.
        "backbone": Str(),
        "alpha": Float(0.0, 4.0, lo_open=True),
        "weights": Str(),
        "hub_handle": Str(),
        "preprocess": Choice(("tf", "torch", "caffe", "none")),
        "input_size": Int(32, 512),
        "pooling": Choice(("avg", "max", "grid2")),
        "flip_augment": Bool(),
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "learning_rate": LEARNING_RATE,
        "l2": DECAY,
        "patience": PATIENCE,
    },
    "train_rnn": {
        "loss": TEXT_LOSS,
        "tokens": Choice(("words", "subwords")),
        "max_tokens": Int(100, 1_000_000),
        "buckets": Int(1024, 4_194_304),
        "sequence_length": Int(4, 1000),
        "embedding_dim": Int(4, 1024),
        "cell": Choice(("gru", "lstm")),
        "units": Int(4, 1024),
        "bidirectional": Bool(),
        "pooling": Choice(("last", "max")),
        "embedding_skip": Bool(),
        "dropout": DROPOUT,
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "length_sorted_batches": Int(0, 1000),
        "learning_rate": LEARNING_RATE,
        "patience": PATIENCE,
        "monitor": TEXT_MONITOR,
        "schedule": TEXT_SCHEDULE,
        "lr_patience": PATIENCE,
        "warmup": Float(0.0, 0.9),
        "optimizer": TEXT_OPTIMIZER,
        "positive_weight_power": Float(0.0, 2.0),  # pipeline.text_training.PositiveWeightedBCE
        "refit": Bool(),
    },
    "train_charcnn": {
        "loss": TEXT_LOSS,
        "sequence_length": Int(16, 2000),
        "embedding_dim": Int(4, 512),
        "kernel_sizes": ListOf(Int(1, 15), 1, 8),
        "filters": Int(4, 2048),
        "hidden_units": Int(0, 4096),
        "dropout": DROPOUT,
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "length_sorted_batches": Int(0, 1000),
        "learning_rate": LEARNING_RATE,
        "patience": PATIENCE,
        "monitor": TEXT_MONITOR,
        "schedule": TEXT_SCHEDULE,
        "lr_patience": PATIENCE,
        "warmup": Float(0.0, 0.9),
        "optimizer": TEXT_OPTIMIZER,
        "positive_weight_power": Float(0.0, 2.0),  # pipeline.text_training.PositiveWeightedBCE
        "refit": Bool(),
    },
    "train_ensemble": {
        "members": ListOf(Choice(("rnn", "charcnn")), 1, 2),
        "weights": Weights(),
        "calibrate": Bool(),
        "calibration_l2": Float(0.0, 100.0),
    },
    "baseline_text": {
        "max_features": Int(100, 10_000_000),
        "alpha_per_1000_tweets": Float(0.0, 1e6, lo_open=True),
        "with_val": Bool(),
    },
    "evaluate": {
        "roc_threshold": Float(0.0, 1.0, lo_open=True),
        "train_images": Int(0, 10_000_000),
        "ae_examples": Int(1, 50),
    },
    "export": {
        "version": Int(1, 2**31 - 1),  # TF Serving's version folder
        "onnx_opset": Int(13, 21),  # what onnxruntime and tf2onnx both support
    },
}


# Lists that describe the same things, so must be as long as each other: (section, key, other, one per).
PAIRED = [("train_cnn", "convs_per_block", "filters", "block"), ("train_ensemble", "weights", "members", "member")]
# (section, key, other, value): `key` is used only when `other` is `value`, so must be 0 otherwise
# (a value that would be silently ignored is an error).
USED_ONLY_WITH = [
    (section, key, "schedule", schedule)
    for section in ("train_rnn", "train_charcnn")
    for key, schedule in (("lr_patience", "plateau"), ("warmup", "one_cycle"))
] + [("train_ensemble", "calibration_l2", "calibrate", True)]
USED_ONLY_WITH += [(section, "positive_weight_power", "loss", "sigmoid") for section in ("train_rnn", "train_charcnn")]


def validate(params: Any, schema: dict = SCHEMA, prefix: str = "") -> dict:
    """Return `params` checked against `schema`, or raise ParamsError naming the key."""
    where = prefix.rstrip(".") or "params.yaml"
    if not isinstance(params, dict):
        raise ParamsError(f"{where}: expected a mapping of keys to values, got {params!r}")
    unknown = sorted(set(params) - set(schema))
    if unknown:
        raise ParamsError(f"{prefix}{unknown[0]}: unknown key; allowed keys in {where}: {', '.join(schema)}")
    missing = [k for k in schema if k not in params]
    if missing:
        raise ParamsError(f"{prefix}{missing[0]}: missing from {where}; add it to params.yaml")
    out = {}
    for key, spec in schema.items():
        if isinstance(spec, dict):
            out[key] = validate(params[key], spec, f"{prefix}{key}.")
        else:
            out[key] = spec.check(f"{prefix}{key}", params[key])
    for section, key, other, unit in PAIRED:
        if prefix == f"{section}." and len(out[key]) != len(out[other]):
            raise ParamsError(
                f"{section}.{key}: {out[key]} has {len(out[key])} entries, {other} {out[other]} has "
                f"{len(out[other])}; give one per {unit}"
            )
    for section, key, other, value in USED_ONLY_WITH:
        if prefix == f"{section}." and out[key] and out[other] != value:
            wanted, got = (json.dumps(v) if isinstance(v, bool) else v for v in (value, out[other]))
            raise ParamsError(
                f"{section}.{key}: {out[key]} is used only with {other}: {wanted}, not {got}; "
                f"set {key}: 0 or {other}: {wanted}"
            )
    return out


def load(section: str, path: Path | str = PARAMS_FILE) -> dict:
    """The validated `base` section merged with `section` (the stage's own wins on clashes)."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as e:
        raise ParamsError(f"{path} is not valid YAML: {e}") from e
    params = validate(raw)
    return {**params["base"], **params[section]}


def merge(base: dict, overrides: dict, prefix: str = "") -> dict:
    """`base` with the values of the nested mapping `overrides` put in; a key `base` lacks is an error."""
    out = dict(base)
    for key, value in overrides.items():
        if key not in base:
            raise ParamsError(f"{prefix}{key}: unknown key; allowed keys: {', '.join(base)}")
        out[key] = merge(base[key], value, f"{prefix}{key}.") if isinstance(value, dict) else value
    return out


def flatten(overrides: dict, prefix: str = "") -> list[str]:
    """A nested mapping as `dvc exp run -S` arguments: section.key=value, lists and booleans in
    the YAML/Hydra spelling."""
    out = []
    for key, value in overrides.items():
        if isinstance(value, dict):
            out += flatten(value, f"{prefix}{key}.")
        else:
            spelled = json.dumps(value, separators=(",", ":")) if not isinstance(value, str) else value
            out += ["-S", f"{prefix}{key}={spelled}"]
    return out


def overrides_cli(argv: list[str]) -> int:
    """`python -m pipeline.params --overrides FILE`: FILE's overrides, checked against
    params.yaml, as `-S` arguments one per line (scripts/quick.sh)."""
    if len(argv) != 2 or argv[0] != "--overrides":
        print("usage: python -m pipeline.params --overrides FILE.yaml", file=sys.stderr)
        return 2
    try:
        overrides = yaml.safe_load(Path(argv[1]).read_text()) or {}
        if not isinstance(overrides, dict):
            raise ParamsError(f"{argv[1]}: expected a mapping of params.yaml's sections")
        validate(merge(yaml.safe_load(PARAMS_FILE.read_text()), overrides))
    except (OSError, yaml.YAMLError, ParamsError) as e:
        print(f"params: {argv[1]}: {' '.join(str(e).split())}", file=sys.stderr)  # one line
        return 2
    print("\n".join(flatten(overrides)))
    return 0


if __name__ == "__main__":
    sys.exit(overrides_cli(sys.argv[1:]))


def keywords(builder, p: dict) -> dict:
    """The keyword-only arguments of `builder` (a model's `build`), each taken from the params
    section `p`: the builder's signature is the one list of a model's architecture params."""
    import inspect

    names = [n for n, a in inspect.signature(builder).parameters.items() if a.kind is a.KEYWORD_ONLY]
    missing = [n for n in names if n not in p]
    if missing:
        raise ParamsError(
            f"{builder.__module__}.{builder.__name__} takes {', '.join(missing)}: add them to its params section"
        )
    return {n: p[n] for n in names}
