"""Loading params.yaml and checking its values against the schema (pipeline/schema/).

Each stage calls `load(section)` before doing any work, so a typo in a key, a wrong type or an
out-of-range value stops the run with an error that names the key and what it accepts. A stage
checks the top-level sections' names and, in full, `base` and the sections it loads: the
schema of each section is its own module, imported only by the stages that read that section,
so that dvc.yaml can list it as a dependency of those stages alone. `validate` checks the whole
file (the tests, scripts/quick.sh's overrides).
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from pipeline.schema import SECTIONS, ParamsError

PARAMS_FILE = Path("params.yaml")


def rules(section: str):
    """The module of params.yaml's top-level `section` in pipeline/schema/: its SCHEMA, and its
    PAIRED and USED_ONLY_WITH rules if it has any."""
    return importlib.import_module(f"pipeline.schema.{section}")


def schema(section: str) -> dict:
    """The specs of params.yaml's top-level `section`."""
    return rules(section).SCHEMA


def check_keys(params: Any, allowed, where: str, prefix: str = "") -> None:
    """ParamsError unless `params` is a mapping with exactly the keys `allowed`."""
    if not isinstance(params, dict):
        raise ParamsError(f"{where}: expected a mapping of keys to values, got {params!r}")
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ParamsError(f"{prefix}{unknown[0]}: unknown key; allowed keys in {where}: {', '.join(allowed)}")
    missing = [k for k in allowed if k not in params]
    if missing:
        raise ParamsError(f"{prefix}{missing[0]}: missing from {where}; add it to params.yaml")


def check(params: Any, specs: dict, prefix: str) -> dict:
    """`params` checked against `specs` (nested mappings of spec types), keys named from `prefix`."""
    check_keys(params, specs, prefix.rstrip("."), prefix)
    out = {}
    for key, spec in specs.items():
        if isinstance(spec, dict):
            out[key] = check(params[key], spec, f"{prefix}{key}.")
        else:
            out[key] = spec.check(f"{prefix}{key}", params[key])
    return out


def validate_section(section: str, params: Any) -> dict:
    """params.yaml's `section` checked against its module's SCHEMA and rules:
    - PAIRED, (key, other, unit): lists that describe the same things, so must be as long as
      each other;
    - USED_ONLY_WITH, (key, other, value): `key` is used only when `other` is `value`, so must be
      0 (or false) otherwise (a value that would be silently ignored is an error)."""
    module = rules(section)
    out = check(params, module.SCHEMA, f"{section}.")
    for key, other, unit in getattr(module, "PAIRED", ()):
        if len(out[key]) != len(out[other]):
            raise ParamsError(
                f"{section}.{key}: {out[key]} has {len(out[key])} entries, {other} {out[other]} has "
                f"{len(out[other])}; give one per {unit}"
            )
    for key, other, value in getattr(module, "USED_ONLY_WITH", ()):
        if out[key] and out[other] != value:
            mine, wanted, got = (json.dumps(v) if isinstance(v, bool) else v for v in (out[key], value, out[other]))
            raise ParamsError(
                f"{section}.{key}: {mine} is used only with {other}: {wanted}, not {got}; "
                f"set {key}: {'false' if isinstance(out[key], bool) else 0} or {other}: {wanted}"
            )
    return out


def validate(params: Any) -> dict:
    """The whole of params.yaml's content `params`, checked; or raise ParamsError naming the key."""
    check_keys(params, SECTIONS, "params.yaml")
    return {section: validate_section(section, params[section]) for section in SECTIONS}


def read(path: Path | str = PARAMS_FILE) -> dict:
    """params.yaml's content, unchecked."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as e:
        raise ParamsError(f"{path} is not valid YAML: {e}") from e


def load(section: str, path: Path | str = PARAMS_FILE) -> dict:
    """The validated `base` section merged with `section` (the stage's own wins on clashes)."""
    raw = read(path)
    check_keys(raw, SECTIONS, "params.yaml")
    return {**validate_section("base", raw["base"]), **validate_section(section, raw[section])}


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
        validate(merge(read(), overrides))
    except (OSError, yaml.YAMLError, ParamsError) as e:
        print(f"params: {argv[1]}: {' '.join(str(e).split())}", file=sys.stderr)  # one line
        return 2
    print("\n".join(flatten(overrides)))
    return 0


def keywords(builder, p: dict) -> dict:
    """The keyword-only arguments of `builder` (a model's `build`), each taken from the params
    section `p`: the builder's signature is the one list of a model's architecture params."""
    names = [n for n, a in inspect.signature(builder).parameters.items() if a.kind is a.KEYWORD_ONLY]
    missing = [n for n in names if n not in p]
    if missing:
        raise ParamsError(
            f"{builder.__module__}.{builder.__name__} takes {', '.join(missing)}: add them to its params section"
        )
    return {n: p[n] for n in names}


if __name__ == "__main__":
    sys.exit(overrides_cli(sys.argv[1:]))
