"""Benchmarks and the validation-split experiments that chose the defaults, each run from the
project root as `python -m bench.<name>`. They read params through pipeline.params, so every
value comes from params.yaml unless a KEY=VALUE argument overrides it."""

from __future__ import annotations

import time

import yaml

from pipeline import params


def stage_params(section: str, args: list[str]) -> dict:
    """params.yaml's `section` (with `base`) and KEY=VALUE overrides (values parsed as YAML,
    nested keys with dots: augment.flip=false), checked against the schema like the stage's own."""
    overrides: dict = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            raise SystemExit(f"{arg!r}: expected KEY=VALUE, e.g. epochs=5")
        *parents, leaf = key.split(".")
        node = overrides
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    base = params.load(section)
    try:
        merged = params.merge(base, overrides, f"{section}.")
        for name in (section, "base"):
            params.validate_section(name, {k: merged[k] for k in params.schema(name)})
    except params.ParamsError as e:
        raise SystemExit(str(e)) from e
    return merged


def timed_fit(model, p: dict, train: tuple, val: tuple):
    """`model.fit` on (inputs, targets) pairs with the section's epochs and batch size, printing
    each epoch: (the history, wall seconds, CPU seconds of this process)."""
    from pipeline import batches  # imports TensorFlow, which the caller has started

    wall, cpu = time.perf_counter(), time.process_time()
    history = model.fit(
        batches.of_arrays(*train, batch_size=p["batch_size"], shuffle_seed=p["seed"]),
        validation_data=batches.of_arrays(*val, batch_size=p["batch_size"]),
        epochs=p["epochs"],
        verbose=2,
        shuffle=False,  # the batches reshuffle themselves, seeded; Keras would only warn
    )
    return history, time.perf_counter() - wall, time.process_time() - cpu
