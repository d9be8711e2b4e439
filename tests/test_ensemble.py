import numpy as np
import pytest

from pipeline import params, text_training, training, tweet_evaluation, tweets
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
    weights, figures = text_training.ensemble_weights(scores, k, 0.5, 0.05)
    assert pytest.approx(sum(weights.values())) == 1.0
    assert weights["good"] > 0.8 > weights["noise"]
    assert figures["ensemble"]["roc_auc_micro"] >= max(
        figures["good"]["roc_auc_micro"], figures["noise"]["roc_auc_micro"]
    )
    mixed = weights["good"] * scores["good"] + weights["noise"] * scores["noise"]
    assert figures["ensemble"]["roc_auc_micro"] == tweet_evaluation.text_metrics(k, mixed, 0.5)["roc_auc_micro"]


def test_equally_good_members_get_equal_weights(val):
    k, scores = val
    weights, _ = text_training.ensemble_weights({"a": scores["good"], "b": scores["good"]}, k, 0.5, 0.1)
    assert weights == {"a": 0.5, "b": 0.5}


def test_a_weight_step_that_does_not_divide_one_is_refused(val):
    k, scores = val
    with pytest.raises(params.ParamsError, match="weight_step: 0.3 does not divide 1"):
        text_training.ensemble_weights(scores, k, 0.5, 0.3)


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
