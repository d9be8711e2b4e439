"""The benchmark's measurement of a dvc command (bench/run.py), on a stand-in command that prints
DVC's stage lines and starts processes of known sizes."""

import ast
import os
import re
import sys

import numpy as np
import pytest

from bench import run
from tests.conftest import ROOT

STAND_IN = f"""
echo "Running stage 'small':"
{sys.executable} -c "import time; time.sleep(0.5)"
echo "Running stage 'big':"
{sys.executable} -c "x = bytearray(300 * 2**20); import time; time.sleep(0.5)"
"""


def test_each_stage_gets_its_own_time_and_the_peak_of_its_largest_process(tmp_path):
    total, peak, stages = run.run_dvc(["sh", "-c", STAND_IN], tmp_path, dict(os.environ))
    assert [name for name, _, _ in stages] == ["small", "big"]
    (_, small_time, small_rss), (_, big_time, big_rss) = stages
    assert small_time >= 0.5 and big_time >= 0.5
    assert small_time + big_time <= total
    assert small_rss < 100 and big_rss > 300 and peak > 300


def test_a_command_that_runs_no_stage_has_only_its_total(tmp_path):
    total, _, stages = run.run_dvc(["sh", "-c", "echo Data and pipelines are up to date."], tmp_path, dict(os.environ))
    assert stages == [] and total > 0


def test_a_failing_command_stops_the_benchmark_with_its_output(tmp_path):
    with pytest.raises(SystemExit, match="no such stage"):
        run.run_dvc(["sh", "-c", "echo no such stage; exit 3"], tmp_path, dict(os.environ))


def test_each_stage_reports_the_flops_it_recorded(tmp_path):
    (tmp_path / "metrics/train/transfer").mkdir(parents=True)
    (tmp_path / "metrics/evaluate").mkdir(parents=True)
    (tmp_path / "metrics/train/transfer/metrics.json").write_text('{"train_flops": 1.5e9, "embedding_flops": 2e12}')
    (tmp_path / "metrics/evaluate/cnn.json").write_text('{"test": {}, "predict_flops": 7.25e11}')
    assert run.stage_flops(tmp_path, "train_transfer") == "1.5e+09 (train) + 2e+12 (embedding)"
    assert run.stage_flops(tmp_path, "evaluate_images@cnn") == "7.25e+11 (predict)"
    assert run.stage_flops(tmp_path, "train_cnn") == ""  # nothing recorded
    assert run.stage_flops(tmp_path, "preprocess") == ""


def test_the_growth_stand_in_draws_real_rows_with_new_ids():
    import pandas as pd

    from bench import growth

    real = pd.DataFrame({"id": ["1", "2", "3"], "tweet": ["a", "b", "c"], "k1": ["0", "0.5", "1"]})
    big = growth.resampled(real, 10, seed=0)
    assert len(big) == 10 and big["id"].is_unique
    assert set(zip(big["tweet"], big["k1"], strict=True)) <= set(zip(real["tweet"], real["k1"], strict=True))
    assert big.equals(growth.resampled(real, 10, seed=0))  # seeded


def test_the_growth_timer_reports_the_stage_processes_peak_memory(tmp_path):
    from bench import growth

    (tmp_path / "stages").mkdir()
    (tmp_path / "stages/__init__.py").write_text("")
    (tmp_path / "stages/big.py").write_text("x = bytearray(200 * 2**20)\nx[::4096] = b'1' * len(x[::4096])\n")
    (tmp_path / "stages/fails.py").write_text("raise SystemExit('fails: no such file')\n")
    seconds, mib = growth.timed("big", [], tmp_path)
    assert seconds > 0 and mib > 200
    with pytest.raises(SystemExit, match="fails: no such file"):
        growth.timed("fails", [], tmp_path)


def test_the_growth_table_gives_each_stage_per_size_and_per_thousand_tweets():
    from bench import growth

    def result(rows, seconds):
        stages = {label: (seconds, 100.0) for label in ("preprocess_tweets", *growth.TRAINED)}
        return {"rows": rows, "train": rows // 2, "stages": stages, "flops": dict.fromkeys(growth.TRAINED, 1e9)}

    lines = growth.table({2000: result(2000, 4.0), 4000: result(4000, 8.0)})
    assert lines[0].startswith("| stage | 2,000 tweets (1,000 train) | 4,000 tweets (2,000 train)")
    assert "| `preprocess_tweets` | 4.0 s, 100 MiB | 8.0 s, 100 MiB | 2.00, 2.00 |" in lines
    assert "| `train_tweets rnn` train FLOPs | 1e+09 | 1e+09 | FLOPs per training tweet: 1.0 M, 0.5 M |" in lines


def test_step_time_variants_are_the_groups_between_separators():
    from bench import step_time

    assert step_time.variants([]) == [[]]
    assert step_time.variants(["epochs=2"]) == [["epochs=2"]]
    assert step_time.variants(["--", "stem_filters=0", "--", "a=1", "b=2"]) == [[], ["stem_filters=0"], ["a=1", "b=2"]]


def test_step_time_reports_the_fastest_and_median_round():
    from bench import step_time

    line = step_time.summary("train_cnn (params.yaml)", [0.2, 0.1, 0.4], 100, 6000)
    assert "100 ms/step fastest, 200 median of 3 rounds at batch 100" in line
    assert "0.10 min per epoch of 6,000 examples" in line  # 60 steps of 0.1 s


def test_step_time_rounds_warm_each_variant_up_then_alternate(monkeypatch):
    from bench import step_time

    monkeypatch.setattr(step_time, "ROUNDS", 2)
    calls = []
    times = step_time.rounds([lambda: calls.append("a"), lambda: calls.append("b")], 32)
    assert calls == ["a", "b", "a", "b", "a", "b"]  # one untimed run each, then rounds in turn
    assert [len(t) for t in times] == [2, 2] and all(v >= 0 for t in times for v in t)


def test_step_time_refuses_variants_of_different_precisions():
    from bench import step_time

    with pytest.raises(SystemExit, match="different precisions"):
        step_time.main(["cnn", "precision=float32", "--", "precision=mixed_bfloat16"])


def test_conv_rates_finds_the_nested_convolutions_and_counts_their_multiply_adds():
    import keras

    from bench import conv_rates

    inner_in = keras.Input((7, 7, 4))
    inner = keras.Model(inner_in, keras.layers.Conv2D(2, 1, name="inner")(inner_in))
    x_in = keras.Input((14, 14, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="first")(x_in)
    x = keras.layers.MaxPooling2D(2)(x)
    model = keras.Model(x_in, keras.layers.Dense(1)(inner(x)))
    found = conv_rates.convolutions(model)
    assert [layer.name for layer in found] == ["first", "inner"]
    assert conv_rates.multiply_adds(found[0], (14, 14, 3)) == 14 * 14 * 3 * 3 * 3 * 4
    assert conv_rates.multiply_adds(found[1], (7, 7, 4)) == 7 * 7 * 1 * 1 * 4 * 2
    forward, step = conv_rates.rates(found[0], 2, True, (14, 14, 3))
    assert forward > 0 and step > 0


def test_conv_rates_counts_a_char_cnn_convolution_at_the_length_given():
    import keras

    from bench import conv_rates

    ids = keras.Input((None, 8))
    model = keras.Model(ids, keras.layers.Conv1D(5, 4, name="width4")(ids))
    [conv] = conv_rates.convolutions(model)
    # 20 characters: 17 windows of 4 characters x 8 embedding dimensions, 5 filters each.
    assert conv_rates.multiply_adds(conv, (20, 8)) == 17 * 4 * 8 * 5
    forward, step = conv_rates.rates(conv, 2, True, (20, 8))
    assert forward > 0 and step > 0


def test_conv_rates_char_cnn_length_is_the_mean_longest_tweet_of_a_batch():
    from bench import conv_rates

    texts = ["a" * 10, "b" * 200, "c" * 30, "d" * 50]
    # Batches of 4: the one batch's longest tweet, cut at 160.
    assert conv_rates.mean_batch_length(texts, 4, 160, seed=0) == 160
    # Batches of 1: every tweet its own batch, (10 + 160 + 30 + 50) / 4.
    assert conv_rates.mean_batch_length(texts, 1, 160, seed=0) == round(250 / 4)


def test_fashion_neighbours_measure_each_image_against_its_nearest_fitted_image():
    from sklearn.neighbors import NearestNeighbors

    from bench import fashion_neighbours

    fit = np.zeros((4, 28, 28), "uint8")
    fit[1], fit[2], fit[3] = 255, 100, 200
    y_fit = np.array([0, 1, 2, 6])
    nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(fashion_neighbours.flat(fit))
    # A copy of image 1 (distance 0, right label), and image 0 brightened by 1/255 per pixel:
    # nearest is image 0 at sqrt(784) / 255, whose label 0 is not its 6.
    queries = np.stack([fit[1], fit[0] + 1])
    f = fashion_neighbours.neighbour_figures(nn, y_fit, queries, np.array([1, 6]))
    assert f["accuracy"] == 0.5 and f["within_2"] == 1.0
    assert f["per_class"] == {"Trouser": 1.0, "Shirt": 0.0}
    assert f["percentiles"][50] == pytest.approx(0.5 * 28 / 255, abs=1e-3)


def test_cnn_trials_whitening_kernel_decorrelates_the_patches_it_was_fitted_on():
    from bench import cnn_trials

    rng = np.random.default_rng(0)
    # Correlated pixels: each image a smoothed noise field, so raw 3x3 patches are far from white.
    noise = rng.normal(size=(40, 12, 12))
    images = noise + np.roll(noise, 1, axis=1) + np.roll(noise, 1, axis=2)
    kernel = cnn_trials.whitening_kernel(images, eps=0.0)
    assert kernel.shape == (3, 3, 1, 18)
    np.testing.assert_allclose(kernel[..., 9:], -kernel[..., :9])
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    patches = np.stack([padded[:, i : i + 12, j : j + 12] for i in range(3) for j in range(3)], -1).reshape(-1, 9)
    out = patches @ kernel[..., :9].reshape(9, 9)
    np.testing.assert_allclose(out.T @ out / len(out), np.eye(9), atol=1e-4)
    raw = patches.T @ patches / len(patches)
    assert np.abs(raw - np.diag(np.diag(raw))).max() > 0.5  # the check above had work to do


def test_cnn_trials_low_resolution_model_shares_the_networks_weights():
    from bench import cnn_trials
    from pipeline.models import cnn
    from tests import tiny

    model = cnn.from_params(tiny.section("train_cnn", filters=[4, 4, 4], convs_per_block=[1, 1, 1]), 64)
    small = cnn_trials.at_resolution(model, 24, 3)
    assert small.input_shape == model.input_shape == (None, 28, 28)
    assert {id(w) for w in small.trainable_weights} == {id(w) for w in model.trainable_weights}
    resize = next(layer for layer in small.layers if layer.__class__.__name__ == "Resizing")
    assert resize.compute_output_shape((None, 28, 28, 1)) == (None, 24, 24, 1)
    assert small.predict(np.zeros((2, 28, 28), "uint8"), verbose=0).shape == (2, 10)
    with pytest.raises(SystemExit, match="SIZE 20 pools to a 2 x 2 map, 28 to 3 x 3"):
        cnn_trials.at_resolution(model, 20, 3)


def test_cnn_trials_alternating_flips_show_each_image_the_other_way_each_epoch():
    from bench import cnn_trials

    images = np.arange(2 * 2 * 3).reshape(2, 2, 3)
    first_flips = np.array([True, False])
    epoch0 = cnn_trials.flipped_views(images, first_flips, 0)
    np.testing.assert_array_equal(epoch0[0], images[0, :, ::-1])
    np.testing.assert_array_equal(epoch0[1], images[1])
    epoch1 = cnn_trials.flipped_views(images, first_flips, 1)
    np.testing.assert_array_equal(epoch1[0], images[0])
    np.testing.assert_array_equal(epoch1[1], images[1, :, ::-1])
    np.testing.assert_array_equal(cnn_trials.flipped_views(images, first_flips, 2), epoch0)
    np.testing.assert_array_equal(images, np.arange(12).reshape(2, 2, 3))  # the split is not changed


def test_cnn_trials_identity_init_passes_each_input_channel_through():
    import keras

    from bench import cnn_trials

    inputs = keras.Input((5, 5, 1))
    stem = keras.layers.Conv2D(2, 3, padding="same")(inputs)
    wider = keras.layers.Conv2D(3, 3, padding="same", use_bias=False)(stem)
    narrower = keras.layers.Conv2D(2, 3, padding="same", use_bias=False)(wider)
    model = keras.Model(inputs, [stem, wider, narrower])
    before = [np.array(layer.kernel) for layer in model.layers[1:]]
    assert cnn_trials.identity_init(model, stem=True) == 1
    stem_kernel, wider_kernel, narrower_kernel = (np.array(layer.kernel) for layer in model.layers[1:])
    np.testing.assert_array_equal(stem_kernel, before[0])  # the stem is left as it is
    np.testing.assert_array_equal(narrower_kernel, before[2])  # more inputs than filters: left too
    np.testing.assert_array_equal(wider_kernel[..., 2], before[1][..., 2])  # a filter past the inputs
    x = np.random.default_rng(0).normal(size=(1, 5, 5, 2)).astype("float32")
    out = keras.ops.convert_to_numpy(model.layers[2](x))
    np.testing.assert_allclose(out[..., :2], x, atol=1e-6)
    assert cnn_trials.identity_init(model, stem=False) == 2  # without a stem the first conv is a block's


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "usage"),
        (["fast"], "usage"),
        (["ema"], "usage"),
        (["ema", "1.5"], "MOMENTUM must be a number between 0 and 1"),
        (["ema", "fast"], "MOMENTUM must be a number between 0 and 1"),
        (["alt-flip", "augment.flip=true"], "leave out augment.flip=true"),
        (["low-res", "8"], "usage"),
        (["low-res", "eight", "24"], "whole numbers"),
        (["low-res", "8", "20"], "SIZE 20 pools to a 2 x 2 map, 28 to 3 x 3"),
        (["low-res", "8", "24", "filters=[8,8]", "convs_per_block=[1,1]"], "SIZE 24 pools to a 6 x 6 map, 28 to 7 x 7"),
        (["low-res", "11", "24", "epochs=11"], "leaves none"),
    ],
)
def test_cnn_trials_refuse_bad_arguments_before_any_work(argv, message):
    from bench import cnn_trials

    with pytest.raises(SystemExit, match=message):
        cnn_trials.main(argv)


def test_a_named_set_is_timed_as_quick_sh_runs_it():
    command = run.quick_command("quick", ROOT)
    assert command[:5] == ["dvc", "exp", "run", "-n", "quick"] and command[-1] == "summarize"
    sets = command[5:-1]
    assert sets[0::2] == ["-S"] * (len(sets) // 2)
    assert "preprocess.fashion.max_train=3000" in sets and "train_cnn.epochs=2" in sets
    with pytest.raises(SystemExit, match="--config nosuch: configs/nosuch.yaml: no such file"):
        run.quick_command("nosuch", ROOT)


def test_text_folds_cover_every_tweet_once_in_near_equal_folds():
    from bench import text_folds

    parts = text_folds.folds(23, 5, seed=1)
    assert sorted(np.concatenate(parts).tolist()) == list(range(23))
    assert {len(p) for p in parts} == {4, 5}
    assert all(np.array_equal(a, b) for a, b in zip(parts, text_folds.folds(23, 5, seed=1), strict=True))
    assert not np.array_equal(parts[0], text_folds.folds(23, 5, seed=2)[0])


def test_text_folds_score_each_tweet_by_a_model_that_never_saw_it(monkeypatch):
    from bench import text_folds

    texts = np.array([f"tweet {i}" for i in range(10)], dtype=object)
    k = np.random.default_rng(0).random((10, 15)).astype(np.float32)
    trained_on = []  # model i's training tweets

    def build(train_texts, p):
        trained_on.append(set(train_texts))
        return len(trained_on) - 1

    def fit(model, name, p, train, val, threshold):
        assert set(train[0]) == trained_on[model] and not set(val[0]) & trained_on[model]

    def predict(model, held):
        assert not set(held) & trained_on[model]
        return np.full((len(held), 15), model + 1, dtype=np.float32)  # which model scored it

    monkeypatch.setattr(text_folds, "BUILD", {"fake": build})
    monkeypatch.setattr(text_folds.text_training, "fit", fit)
    monkeypatch.setattr(text_folds.text, "predict", predict)
    scores = text_folds.out_of_fold(text_folds.deep_model("fake", {"seed": 0}, 0.5), texts, k, 3, seed=0)
    assert len(trained_on) == 3 and sorted(set(scores[:, 0])) == [1, 2, 3]
    assert all(len(texts) - (scores[:, 0] == m + 1).sum() == len(seen) for m, seen in enumerate(trained_on))


def test_text_folds_as_stage_cut_each_folds_training_tweets_into_train_and_val_as_preprocess_does(monkeypatch):
    from bench import text_folds

    texts = np.array([f"tweet {i}" for i in range(40)], dtype=object)
    k = np.random.default_rng(0).random((40, 15)).astype(np.float32)
    seen = []  # (train, val) of each fold's model

    def fit_and_refit(name, build, p, train, val, threshold):
        seen.append((set(train[0]), set(val[0])))
        return len(seen) - 1, None

    def predict(model, held):
        train, val = seen[model]
        assert not set(held) & (train | val)
        return np.full((len(held), 15), model + 1, dtype=np.float32)

    monkeypatch.setattr(text_folds, "BUILD", {"fake": None})
    monkeypatch.setattr(text_folds.text_training, "fit_and_refit", fit_and_refit)
    monkeypatch.setattr(text_folds.text, "predict", predict)
    scored = text_folds.stage_model("fake", {"seed": 0}, 0.5, val_share=0.125)
    scores = text_folds.out_of_fold(scored, texts, k, 4, seed=0)
    assert sorted(set(scores[:, 0])) == [1, 2, 3, 4]
    for train, val in seen:  # 30 training tweets a fold: 26 to fit, 4 to watch (1/8, rounded)
        assert (len(train), len(val)) == (26, 4) and not train & val


def test_text_folds_score_the_tfidf_baseline_as_its_stage_fits_it(tweets_df):
    from bench import text_folds
    from pipeline import tweets

    clean, _ = tweets.clean(tweets_df.astype(str))
    texts, k = clean["tweet"].to_numpy(dtype=object), tweets.labels(clean)
    scored = text_folds.tfidf_model({"max_features": 1000, "alpha_per_1000_tweets": 0.2})
    scores = text_folds.out_of_fold(scored, texts, k, 4, seed=0)
    assert scores.shape == k.shape and scores.min() >= 0.0 and scores.max() <= 1.0
    assert (np.abs(scores).sum(axis=1) > 0).all()  # every tweet scored


def test_text_folds_paired_difference_is_zero_against_itself_and_signed_against_worse_scores():
    from bench import text_folds

    rng = np.random.default_rng(0)
    k = (rng.random((200, 15)) < 0.3).astype(np.float32)
    good = np.clip(k * 0.6 + rng.random(k.shape) * 0.4, 0, 1)
    noise = rng.random(k.shape)
    assert text_folds.paired(k, good, good, 0.5, 20, 0).count("+0.0000 [+0.0000, +0.0000]") == 3
    micro, macro, rmse = (part.split()[1] for part in text_folds.paired(k, good, noise, 0.5, 20, 0).split("; "))
    assert float(micro) > 0 and float(macro) > 0 and float(rmse) < 0


def test_text_folds_refuses_one_fold_and_scores_of_other_tweets(monkeypatch, tmp_path):
    from bench import text_folds

    monkeypatch.setattr(sys, "argv", ["text_folds", "charcnn", "--folds", "1"])
    with pytest.raises(SystemExit, match="--folds 1: need at least 2 folds"):
        text_folds.main()
    texts = np.array(["a", "b", "c"], dtype=object)
    monkeypatch.setattr(text_folds.tweets, "load_prepared", lambda split: (texts, np.zeros((3, 15), np.float32)))
    np.save(tmp_path / "other.npy", np.zeros((4, 15), np.float32))
    monkeypatch.setattr(sys, "argv", ["text_folds", "charcnn", "--against", str(tmp_path / "other.npy")])
    with pytest.raises(SystemExit, match=r"scores of shape \(4, 15\), these tweets need \(6, 15\)"):
        text_folds.main()


# train_ensemble's params for two members at equal weights, without calibration.
ENSEMBLE = {"members": ["rnn", "charcnn"], "weights": [0.5, 0.5], "calibrate": False, "calibration_l2": 0.0}


def members_scores(n: int):
    """Kind fractions of `n` tweets, and two members' scores: one near them, one noise."""
    rng = np.random.default_rng(0)
    k = (rng.random((n, 15)) < 0.3).astype(np.float32)
    return k, np.clip(k + rng.normal(0, 0.2, k.shape), 0, 1), rng.random(k.shape)


def test_text_folds_choose_the_ensemble_weights_on_saved_out_of_fold_scores():
    from bench import text_folds

    k, good, noise = members_scores(300)
    p = ENSEMBLE
    line = text_folds.ensemble_weights({"rnn": good, "charcnn": noise}, k, 0.5, p)
    chosen = ast.literal_eval(re.search(r"chosen (\{.*?\})", line).group(1))
    assert chosen["rnn"] > 0.8 and sum(chosen.values()) == pytest.approx(1.0)
    assert "at train_ensemble.weights {'rnn': 0.5, 'charcnn': 0.5}" in line
    with pytest.raises(SystemExit, match=r"scores of \['rnn'\]; train_ensemble.members is \['rnn', 'charcnn'\]"):
        text_folds.ensemble_weights({"rnn": good}, k, 0.5, p)
    with pytest.raises(SystemExit, match=r"charcnn's scores of shape \(3, 15\), these tweets need \(300, 15\)"):
        text_folds.ensemble_weights({"rnn": good, "charcnn": noise[:3]}, k, 0.5, p)


def test_text_folds_ensemble_needs_name_equals_file(monkeypatch):
    from bench import text_folds

    monkeypatch.setattr(sys, "argv", ["text_folds", "ensemble", "rnn.npy"])
    with pytest.raises(SystemExit, match="give each member's saved scores as NAME=FILE.npy"):
        text_folds.main()


def test_text_choices_score_a_variant_in_the_ensemble_with_the_params_weights():
    from bench import text_choices
    from pipeline import tweet_evaluation

    k, good, noise = members_scores(200)
    p = ENSEMBLE
    line = text_choices.as_member("charcnn", good, {"rnn": noise}, (None, k), 0.5, p)
    mixed = tweet_evaluation.text_metrics(k, 0.5 * good + 0.5 * noise, 0.5)
    assert line == f"ensemble {{'rnn': 0.5, 'charcnn': 0.5}}: {text_choices.figures(mixed)}"
    alone = {**p, "members": ["rnn"], "weights": [1.0]}
    line = text_choices.as_member("charcnn", good, {}, (None, k), 0.5, alone)
    assert line == "not one of train_ensemble.members ['rnn'], so no ensemble figure"
