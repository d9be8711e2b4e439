"""What each params.yaml value may be: the spec types, the specs several sections share, and the
sections. One module per section beside this one (pipeline/schema/train_cnn.py, ...) holds that
section's SCHEMA, and optionally its PAIRED and USED_ONLY_WITH rules; pipeline.params imports
only the sections a stage loads, so an edit to one section's schema reruns only the stages that
read that section. Keys several sections share go in a module of their own that those sections
import (SHARED), not here, where an edit would rerun every stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# Every top-level section of params.yaml, each a module of this package.
SECTIONS = (
    "base",
    "download",
    "preprocess",
    "train_ae",
    "train_cnn",
    "train_transfer",
    "train_rnn",
    "train_charcnn",
    "train_ensemble",
    "baseline_text",
    "evaluate",
    "export",
)
# The other modules of this package: keys that sections share, imported by those sections.
SHARED = ("text_training",)


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
