import numpy as np
import pytest

from pipeline import training, tweet_evaluation, tweets
from pipeline.models import charcnn, ensemble, rnn, text
from tests.tiny import section


@pytest.fixture
def val():
    """Kind fractions of 200 tweets, and two members' scores: one close to the truth, one noise."""
    rng = np.random.default_rng(0)
    k = (rng.random((200, 15)) < 0.2) * rng.choice([0.6, 1.0], size=(200, 15))
    good = np.clip(k + rng.normal(0, 0.1, k.shape), 0, 1)
    noise = rng.random(k.shape)
    return k.astype("float32"), {"good": good.astype("float32"), "noise": noise.astype("float32")}


def test_weights_favour_the_member_that_scores_better_on_validation(val):
    k, scores = val
    weights, figures = ensemble.choose_weights(scores, k, 0.5, 0.05)
    assert pytest.approx(sum(weights.values())) == 1.0
    assert weights["good"] > 0.8 > weights["noise"]
    assert figures["ensemble"]["roc_auc_micro"] >= max(
        figures["good"]["roc_auc_micro"], figures["noise"]["roc_auc_micro"]
    )
    mixed = weights["good"] * scores["good"] + weights["noise"] * scores["noise"]
    assert figures["ensemble"]["roc_auc_micro"] == tweet_evaluation.text_metrics(k, mixed, 0.5)["roc_auc_micro"]


def test_equally_good_members_get_equal_weights(val):
    k, scores = val
    weights, _ = ensemble.choose_weights({"a": scores["good"], "b": scores["good"]}, k, 0.5, 0.1)
    assert weights == {"a": 0.5, "b": 0.5}


def test_a_weight_step_that_does_not_divide_one_is_refused(val):
    k, scores = val
    with pytest.raises(ValueError, match="a weight step of 0.3 does not divide 1"):
        ensemble.choose_weights(scores, k, 0.5, 0.3)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture
def miscalibrated():
    """Labels of 15 kinds drawn with known probabilities, and a member's scores that are
    over-confident in kind 0 (logit x 2) and too low in kind 1 (logit - 1.5), the rest as they
    should be."""
    rng = np.random.default_rng(1)
    z = rng.normal(-1.5, 1.5, size=(4000, 15))
    k = (rng.random(z.shape) < sigmoid(z)).astype("float32")
    scale, offset = np.ones(15), np.zeros(15)
    scale[0], offset[1] = 2.0, -1.5
    return k, sigmoid(z * scale + offset).astype("float32")


def test_platt_finds_the_scale_and_offset_that_undo_a_known_miscalibration(miscalibrated):
    k, scores = miscalibrated
    scale, offset = ensemble.platt(scores, k, l2=0.0)
    np.testing.assert_allclose(scale[:3], [0.5, 1.0, 1.0], atol=0.08)
    np.testing.assert_allclose(offset[:3], [0.0, 1.5, 0.0], atol=0.12)
    fixed = ensemble.apply_platt(scores, scale, offset)
    before, after = (tweet_evaluation.text_metrics(k, s, 0.5) for s in (scores, fixed))
    assert after["rmse"] < before["rmse"]
    # Per kind the order is kept, so each kind's own ROC-AUC stays as it was.
    assert after["roc_auc_per_kind"] == before["roc_auc_per_kind"]


def test_the_penalty_keeps_a_kind_without_annotations_finite_and_near_its_scores(miscalibrated):
    k, scores = miscalibrated
    k[:, 2] = 0
    free, penalised = ensemble.platt(scores, k, l2=0.0), ensemble.platt(scores, k, l2=0.01)
    assert np.all(np.isfinite(penalised))
    assert abs(penalised[1][2]) < abs(free[1][2])
    with pytest.raises(ValueError, match=r"scores of shape \(4000, 15\) for labels of shape \(10, 15\)"):
        ensemble.platt(scores, k[:10], l2=0.01)


def test_fit_scores_the_mix_with_the_given_weights(val):
    k, scores = val
    weights, figures, calibration = ensemble.fit(
        scores, k, 0.5, members=["noise", "good"], weights=[0.25, 0.75], calibrate=False, calibration_l2=0
    )
    assert calibration == {}
    assert weights == {"noise": 0.25, "good": 0.75}
    mixed = 0.75 * scores["good"] + 0.25 * scores["noise"]
    assert figures["ensemble"]["rmse"] == tweet_evaluation.text_metrics(k, mixed, 0.5)["rmse"]
    assert figures == ensemble.figures_of(scores, k, 0.5, weights)


def test_fit_with_calibration_scores_the_calibrated_members(val):
    k, scores = val
    weights, figures, calibration = ensemble.fit(
        scores, k, 0.5, members=["good", "noise"], weights=[0.5, 0.5], calibrate=True, calibration_l2=0.01
    )
    assert sorted(calibration) == ["good", "noise"]
    adjusted = {n: ensemble.apply_platt(s, *calibration[n]) for n, s in scores.items()}
    assert figures == ensemble.figures_of(adjusted, k, 0.5, weights)
    assert figures["good"]["rmse"] < ensemble.figures_of(scores, k, 0.5, weights)["good"]["rmse"]


def test_fit_refuses_scores_of_other_members_than_the_params_name(val):
    k, scores = val
    with pytest.raises(ValueError, match=r"scores of \['good', 'noise'\] for the members \['good', 'rnn'\]"):
        ensemble.fit(scores, k, 0.5, members=["good", "rnn"], weights=[0.5, 0.5], calibrate=False, calibration_l2=0)


@pytest.fixture
def members(tweets_df):
    clean, _ = tweets.clean(tweets_df.astype(str))
    texts = clean["tweet"].to_numpy(dtype=object)
    training.seed_everything(0)
    return texts, {
        "rnn": rnn.from_params(texts, section("train_rnn", sequence_length=12)),
        "charcnn": charcnn.from_params(texts, section("train_charcnn", kernel_sizes=[2, 3])),
    }


def test_the_saved_ensemble_takes_raw_strings_and_gives_the_weighted_mean(members, tmp_path):
    texts, models = members
    weights = {"rnn": 0.35, "charcnn": 0.65}
    model = ensemble.build(members=models, weights=weights)
    model.save(tmp_path / "ensemble.keras")
    loaded = training.load(tmp_path / "ensemble.keras")
    assert loaded.inputs[0].dtype == "string"
    expected = sum(w * text.predict(models[name], texts) for name, w in weights.items())
    np.testing.assert_allclose(text.predict(loaded, texts), expected, rtol=1e-5, atol=1e-6)


def test_a_member_with_weight_zero_is_left_out_and_all_zero_is_refused(members):
    texts, models = members
    alone = ensemble.build(members=models, weights={"rnn": 0.0, "charcnn": 1.0})
    np.testing.assert_allclose(text.predict(alone, texts), text.predict(models["charcnn"], texts), rtol=1e-6)
    assert "weight_rnn" not in [layer.name for layer in alone.layers]
    with pytest.raises(ValueError, match="every ensemble weight is 0"):
        ensemble.build(members=models, weights={"rnn": 0.0, "charcnn": 0.0})


def test_a_recalibrated_member_gives_what_apply_platt_computes(members):
    texts, models = members
    before = text.predict(models["charcnn"], texts)
    scale, offset = np.linspace(0.5, 1.5, 15), np.linspace(-1, 1, 15)
    ensemble.recalibrate(models["charcnn"], scale, offset)
    np.testing.assert_allclose(
        text.predict(models["charcnn"], texts), ensemble.apply_platt(before, scale, offset), rtol=1e-4, atol=1e-5
    )


def test_a_softmax_member_cannot_be_recalibrated_per_kind(tweets_df):
    clean, _ = tweets.clean(tweets_df.astype(str))
    model = charcnn.from_params(clean["tweet"].to_numpy(dtype=object), section("train_charcnn", loss="softmax"))
    with pytest.raises(ValueError, match="not a sigmoid Dense layer.*set train_ensemble.calibrate: false"):
        ensemble.recalibrate(model, np.ones(15), np.zeros(15))
