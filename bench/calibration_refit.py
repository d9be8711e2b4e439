"""Does train_ensemble's calibration still help when a member is refitted after its calibration
was fitted? Measured one level down, so that the test split stays untouched (as
bench/text_refit.py does): the training split is cut into A (6/7) and B (1/7, as large as val);
each member is trained on A, early-stopped on B, and scored on B; a member whose params say
`refit` is then retrained on A + B. The ensemble is fitted on the B scores as train_ensemble
fits it on val, applied to the members as the pipeline would save them, and scored on val:

    none:      the weights alone (`calibrate: false`)
    all:       every member calibrated (`calibrate: true`, today's stage)
    unrefit:   only the members without a refit calibrated (a refitted member's B scores come
               from another model than the one saved)

    .venv/bin/python -m bench.calibration_refit [L2]      # default 0.01, what bench.calibration chose
"""

import sys
import time

import numpy as np

from bench.text_choices import BUILD, figures, scratch_dir, section
from pipeline import hardware, params, text_training, training, tweet_evaluation, tweets
from pipeline.models import ensemble, text


def main(argv: list[str]) -> None:
    p_ens = params.load("train_ensemble")
    l2 = float(argv[0]) if argv else 0.01
    threshold = params.load("evaluate")["roc_threshold"]
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    seed = params.load("base")["seed"]
    order = np.random.default_rng(seed).permutation(len(train[1]))
    a, b = (tuple(x[i] for x in train) for i in np.split(order, [len(order) * 6 // 7]))
    member_params = {name: section([name])[2] for name in p_ens["members"]}
    scratch_dir()  # after every params.yaml read: dvclive's curves go there
    hardware.start("calibration_refit")
    start = time.perf_counter()
    on_b, on_val, refitted = {}, {}, set()
    for name in p_ens["members"]:
        p = member_params[name]
        training.seed_everything(p["seed"])
        model = BUILD[name](a[0], p)
        learning_rates, _ = text_training.fit(model, name, p, a, b, threshold)
        on_b[name] = text.predict(model, b[0])
        if p["refit"]:
            model = text_training.refit(BUILD[name], p, a, b, learning_rates)
            refitted.add(name)
        on_val[name] = text.predict(model, val[0])
    calibration = {name: ensemble.platt(s, b[1], l2) for name, s in on_b.items()}
    rows = {"none": set(), "all": set(on_b), "unrefit": set(on_b) - refitted}
    for row, calibrated in rows.items():
        adjust = {n: ensemble.apply_platt(s, *calibration[n]) if n in calibrated else s for n, s in on_b.items()}
        weights, _ = ensemble.choose_weights(adjust, b[1], threshold)
        applied = {n: ensemble.apply_platt(s, *calibration[n]) if n in calibrated else s for n, s in on_val.items()}
        mixed = sum(weights[n] * applied[n] for n in applied)
        scored = {n: figures(tweet_evaluation.text_metrics(val[1], s, threshold)) for n, s in sorted(applied.items())}
        members = "; ".join(f"{n} {f}" for n, f in scored.items())
        print(
            f"RESULT calibration {row} (l2 {l2}, calibrated {sorted(calibrated)}, refitted {sorted(refitted)}): "
            f"ensemble {weights} {figures(tweet_evaluation.text_metrics(val[1], mixed, threshold))} ({members})",
            flush=True,
        )
    print(f"{time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
