import json
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from pipeline import params, text_training, training, tweet_evaluation, tweets
from pipeline.models import charcnn, ensemble, layers, rnn, text
from tests.tiny import section

PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"

BUILDERS = {
    "rnn": lambda texts, loss: rnn.from_params(texts, section("train_rnn", loss=loss, sequence_length=12)),
    "rnn_words": lambda texts, loss: rnn.from_params(
        texts, section("train_rnn", loss=loss, tokens="words", max_tokens=200, sequence_length=12)
    ),
    "rnn_lstm_uni_last": lambda texts, loss: rnn.from_params(
        texts,
        section(
            "train_rnn",
            loss=loss,
            tokens="words",
            max_tokens=200,
            sequence_length=12,
            cell="lstm",
            bidirectional=False,
            pooling="last",
            embedding_skip=False,
        ),
    ),  # fmt: skip
    "charcnn": lambda texts, loss: charcnn.from_params(texts, section("train_charcnn", loss=loss, kernel_sizes=[2, 3])),
    "charcnn_no_hidden": lambda texts, loss: charcnn.from_params(
        texts, section("train_charcnn", loss=loss, kernel_sizes=[4], hidden_units=0)
    ),
}


@pytest.fixture
def data(tweets_df):
    clean, _ = tweets.clean(tweets_df.astype(str))
    return clean["tweet"].to_numpy(dtype=object), tweets.labels(clean)


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("loss", ["softmax", "sigmoid"])
def test_builds_trains_and_outputs_per_loss(data, name, loss):
    training.seed_everything(0)
    texts, k = data
    model = BUILDERS[name](texts, loss)
    assert model.output_shape == (None, 15)
    text_training.compile_model(model, loss, 0.01, "adam")
    ds = text_training.dataset(texts, tweets.targets(k, loss), 16, shuffle_seed=0)
    hist = model.fit(ds, epochs=4, shuffle=False, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    scores = text.predict(model, texts[:7])
    assert scores.shape == (7, 15) and (scores >= 0).all() and (scores <= 1).all()
    if loss == "softmax":
        np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)


def test_losses_on_a_row_summing_to_more_than_one():
    k = np.zeros((1, 15), np.float32)
    k[0, [9, 10]] = [1.0, 0.6]  # rain and snow: sums to 1.6
    pred = np.full((1, 15), 1 / 15, np.float32)
    soft = float(text_training.loss_fn("softmax")(tweets.targets(k, "softmax"), pred))
    np.testing.assert_allclose(soft, np.log(15), rtol=1e-5)  # renormalised targets sum to 1
    sig = float(text_training.loss_fn("sigmoid")(tweets.targets(k, "sigmoid"), pred))
    # mean over kinds of -[k log p + (1 - k) log(1 - p)], with the fractions as given
    p = 1 / 15
    expected = -np.mean(k * np.log(p) + (1 - k) * np.log(1 - p))
    np.testing.assert_allclose(sig, expected, rtol=1e-4)
    with pytest.raises(ValueError, match="allowed values: softmax, sigmoid"):
        text_training.loss_fn("mse")


def test_positive_weights_grow_as_a_kind_gets_rarer():
    k = np.zeros((10, 15), np.float32)
    k[:5, 0] = 1.0  # mean 0.5
    k[:1, 1] = 1.0  # mean 0.1
    w = text_training.positive_weights(k, 0.5)
    np.testing.assert_allclose(w[:2], [1.0, 3.0], rtol=1e-6)
    # A kind no tweet has: the mean is floored at 1e-4, so the weight stays finite.
    np.testing.assert_allclose(w[2], 9999**0.5, rtol=1e-6)
    assert text_training.loss_weights({"positive_weight_power": 0.0}, k) is None


def test_positive_weighted_bce_with_unit_weights_is_binary_cross_entropy():
    rng = np.random.default_rng(0)
    k = rng.uniform(size=(6, 15)).astype(np.float32)
    pred = rng.uniform(0.01, 0.99, size=(6, 15)).astype(np.float32)
    weighted = float(text_training.loss_fn("sigmoid", np.ones(15))(k, pred))
    np.testing.assert_allclose(weighted, float(text_training.loss_fn("sigmoid")(k, pred)), rtol=1e-5)


def _logit_gradient(loss, k, logits, keep_logits: bool):
    logits = tf.Variable(logits)
    with tf.GradientTape() as tape:
        # keras.ops.sigmoid keeps its logits on the tensor, as the models' output layer does;
        # tf.sigmoid does not, so the loss recovers them from the probabilities.
        pred = keras.ops.sigmoid(logits) if keep_logits else tf.sigmoid(logits)
        value = loss(k, pred)
    return tape.gradient(value, logits).numpy()


@pytest.mark.parametrize("keep_logits", [True, False])
def test_positive_weighted_bce_is_lowest_at_the_annotators_fraction(keep_logits):
    # Weighted cross-entropy alone would be lowest at w*y / (w*y + 1 - y); the offset of log w
    # keeps the minimum at y, so the trained probabilities stay calibrated.
    y = np.linspace(0.05, 0.75, 15).astype(np.float32)[None]
    weights = np.linspace(1.0, 30.0, 15)
    loss = text_training.loss_fn("sigmoid", weights)
    at_y = np.log(y / (1 - y))
    np.testing.assert_allclose(_logit_gradient(loss, y, at_y, keep_logits), 0.0, atol=1e-6)
    assert (_logit_gradient(loss, y, at_y - 0.5, keep_logits) < 0).all()
    assert (_logit_gradient(loss, y, at_y + 0.5, keep_logits) > 0).all()


def test_positive_weighted_bce_pulls_a_rare_kind_harder_where_it_is_unlikely():
    weights = np.ones(15)
    weights[5] = 20.0  # hurricane, say
    k = np.zeros((1, 15), np.float32)
    k[0, [0, 5]] = 1.0
    low = np.full((1, 15), -6.0, np.float32)  # every kind at p = 0.0025
    plain = _logit_gradient(text_training.loss_fn("sigmoid"), k, low, True)
    weighted = _logit_gradient(text_training.loss_fn("sigmoid", weights), k, low, True)
    np.testing.assert_allclose(weighted[0, 0], plain[0, 0], rtol=1e-5)  # weight 1: unchanged
    # d/dz of 20 softplus(-(z + log 20)) against d/dz of softplus(-z), at z = -6
    expected = (20.0 / (1 + 20 * np.exp(-6.0))) * (1 + np.exp(-6.0))
    assert weighted[0, 5] / plain[0, 5] == pytest.approx(expected, rel=1e-4)


def test_positive_weights_are_refused_with_the_softmax_loss():
    with pytest.raises(ValueError, match="positive weights are for the sigmoid loss; set positive_weight_power: 0"):
        text_training.loss_fn("softmax", np.ones(15))


def test_a_model_trained_with_positive_weights_saves_and_loads(tmp_path, data):
    training.seed_everything(0)
    texts, k = data
    model = BUILDERS["charcnn"](texts, "sigmoid")
    text_training.compile_model(model, "sigmoid", 0.01, "adam", text_training.positive_weights(k, 0.25))
    hist = model.fit(text_training.dataset(texts, k, 16, shuffle_seed=0), epochs=4, shuffle=False, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(reloaded.loss, text_training.PositiveWeightedBCE)
    assert reloaded.loss.weights == model.loss.weights
    np.testing.assert_allclose(text.predict(reloaded, texts[:5]), text.predict(model, texts[:5]), rtol=1e-6)


@pytest.mark.parametrize("name", ["rnn", "rnn_words", "charcnn"])
def test_saved_model_takes_raw_strings(tmp_path, data, name):
    training.seed_everything(0)
    texts, k = data
    model = BUILDERS[name](texts, "sigmoid")
    text_training.compile_model(model, "sigmoid", 0.01, "adam")
    model.fit(text_training.dataset(texts, k, 16), epochs=1, shuffle=False, verbose=0)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    # Tokenisation is inside the file: loading needs no preprocessing code of ours (the subword
    # layers need only pipeline.models.rnn imported, which registers them with Keras).
    reloaded = keras.models.load_model(path, compile=False)
    new = np.array(["Snow and wind all day!!", "sunny :)", "", "zzz unseen words qqq"], dtype=object)
    np.testing.assert_allclose(text.predict(reloaded, new), text.predict(model, new), rtol=1e-6)


def test_an_averaged_model_takes_raw_strings_and_gives_the_mean_of_its_models(tmp_path, data):
    # The two fits of train_tweets with average_fits; words and subwords read tweets differently,
    # as a refit's vocabulary differs from the first fit's.
    texts, _ = data
    training.seed_everything(0)
    first, second = BUILDERS["rnn_words"](texts[:30], "sigmoid"), BUILDERS["rnn"](texts, "sigmoid")
    model = text.averaged([second, first], "rnn")
    model.save(tmp_path / "rnn.keras")
    reloaded = training.load(tmp_path / "rnn.keras")
    new = np.array(["Snow and wind all day!!", "sunny :)", "", "zzz unseen words qqq"], dtype=object)
    mean = (text.predict(first, new) + text.predict(second, new)) / 2
    np.testing.assert_allclose(text.predict(reloaded, new), mean, rtol=1e-5, atol=1e-7)
    assert [layer.name for layer in reloaded.layers] == ["tweet", "rnn_1", "rnn_2", "kinds"]
    # Its cost is both models' passes, inside an ensemble too.
    assert [m.name for m in text.leaves(reloaded)] == ["rnn_1", "rnn_2"]
    both = text.predict_flops(first, texts) + text.predict_flops(second, texts)
    assert text.predict_flops(reloaded, texts) == pytest.approx(both, rel=1e-9)
    mixed = ensemble.build(
        members={"rnn": reloaded, "charcnn": BUILDERS["charcnn"](texts, "sigmoid")},
        weights={"rnn": 0.5, "charcnn": 0.5},
    )
    assert len(text.leaves(mixed)) == 3


def test_an_averaged_member_is_not_recalibrated_as_one_model(data):
    texts, _ = data
    model = text.averaged([BUILDERS["rnn"](texts, "sigmoid"), BUILDERS["rnn"](texts, "sigmoid")], "rnn")
    with pytest.raises(ValueError, match="set train_ensemble.calibrate: false or train_rnn.average_fits: false"):
        ensemble.recalibrate(model, np.ones(15), np.zeros(15))


def test_vocabulary_is_inside_the_model(data):
    texts, _ = data
    model = BUILDERS["rnn_words"](texts, "sigmoid")
    vocab = model.get_layer("tokens").get_vocabulary()
    assert "rain" in vocab and "snow" in vocab
    chars = BUILDERS["charcnn"](texts, "sigmoid").get_layer("characters").vectorize.get_vocabulary()
    assert "r" in chars and len(chars) < 60


def test_non_text_input_is_rejected(data):
    texts, _ = data
    model = BUILDERS["charcnn"](texts, "sigmoid")
    with pytest.raises(TypeError, match="tweet 1 is float, not text"):
        text.predict(model, ["ok", 3.5])


def subword_ids(texts, sequence_length=6, buckets=1024):
    return layers.SubwordIds(sequence_length, buckets)(text.as_strings(texts)).numpy()


def test_subwords_are_hashed_character_ngrams_of_each_word():
    ids = subword_ids(["Rain, RAINING!", "#rain @mention", "", "a"])
    assert ids.shape[:2] == (4, 2)  # padded to the batch's longest tweet, not to sequence_length
    rain, raining, hashtag = ids[0, 0], ids[0, 1], ids[1, 0]
    # "<rain>" and its 3-, 4-, 5-grams: <ra rai ain in> <rai rain ain> <rain rain>
    assert (rain > 0).sum() == 1 + 4 + 3 + 2
    np.testing.assert_array_equal(hashtag, rain)  # case and punctuation are stripped, as for words
    shared = set(rain[rain > 0]) & set(raining[raining > 0])
    assert len(shared) >= 4  # <ra rai ain <rai <rain ... : an unseen inflection shares embeddings
    assert (ids[3, 1:] == 0).all() and (ids[2] == 0).all()  # padding words and empty tweets: 0
    assert (ids[3, 0] > 0).sum() == 2  # "<a>" itself and its one 3-gram
    np.testing.assert_array_equal(subword_ids(["Rain, RAINING!"]), ids[:1])  # stable hashing
    assert ids.max() <= 1024


def test_subword_embedding_averages_present_ngrams_and_masks_empty_words():
    layer = layers.SubwordEmbedding(5, 2)
    ids = np.array([[[1, 2, 0], [0, 0, 0]]])
    out = layer(ids)
    table = layer.embeddings.numpy()
    np.testing.assert_allclose(out[0, 0], (table[1] + table[2]) / 2, rtol=1e-6)
    np.testing.assert_allclose(out[0, 1], 0.0)
    np.testing.assert_array_equal(layer.compute_mask(ids), [[True, False]])


def test_subword_embedding_learns_only_from_the_ngrams_present():
    layer = layers.SubwordEmbedding(5, 2)
    ids = np.array([[[1, 2, 0], [3, 0, 0], [0, 0, 0]]])
    with tf.GradientTape() as tape:
        out = layer(ids)
        loss = ops.sum(out * np.array([[[1.0, 1.0], [2.0, 2.0], [5.0, 5.0]]]))
    grad = tape.gradient(loss, layer.embeddings)
    # One slice per n-gram occurrence, as a plain gather gives: Keras's Adam squares each slice
    # (the RNN was tuned with that), and padding is never among them.
    assert isinstance(grad, tf.IndexedSlices) and sorted(grad.indices.numpy()) == [1, 2, 3]
    # d loss / d row: the word's weight over its n-gram count
    dense = tf.convert_to_tensor(grad).numpy()
    np.testing.assert_allclose(dense, [[0, 0], [0.5, 0.5], [0.5, 0.5], [2, 2], [0, 0]], rtol=1e-6)


def test_a_tweets_scores_do_not_depend_on_the_tweets_batched_with_it(data):
    texts, _ = data
    model = BUILDERS["rnn"](texts, "sigmoid")
    short = "sunny"
    long = " ".join(["extraordinarily"] * 11) + " rain"  # more words and longer ones: more padding
    alone = text.predict(model, [short])
    together = text.predict(model, [short, long])
    np.testing.assert_allclose(alone[0], together[0], rtol=1e-5, atol=1e-7)
    # A batch without a single word (the recurrent layer then runs over one masked step)
    wordless = text.predict(model, ["!!!", ""])
    np.testing.assert_allclose(wordless, text.predict(model, ["!!!", "", long])[:2], rtol=1e-5, atol=1e-7)


def test_words_beyond_sequence_length_are_cut():
    ids = subword_ids(["one two three four"], sequence_length=2)
    assert ids.shape[1] == 2 and (ids[0, :, 0] > 0).all()


def logged(tmp_path, quantity: str, split: str = "validation") -> list[float]:
    """A quantity per epoch as training.Record wrote it during `text_training.fit(..., "tiny", ...)`."""
    rows = json.loads((tmp_path / f"metrics/train/tiny/curves/{quantity}.json").read_text())
    assert [r["epoch"] for r in rows if r["split"] == split] == list(
        range(1, 1 + sum(r["split"] == split for r in rows))
    )
    return [r[quantity] for r in rows if r["split"] == split]


def test_validation_auc_is_logged_and_early_stopping_keeps_its_best_epoch(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # dvclive writes metrics/train/<name>/ here
    training.seed_everything(0)
    texts, k = data
    model = BUILDERS["charcnn"](texts, "sigmoid")
    p = {"loss": "sigmoid", "learning_rate": 0.01, "batch_size": 16, "seed": 0, "epochs": 4,
         "patience": 1, "monitor": "val_auc_micro", "schedule": "plateau", "lr_patience": 0, "warmup": 0.0,
         "length_sorted_batches": 0, "optimizer": "adam", "positive_weight_power": 0.0}  # fmt: skip
    learning_rates, _ = text_training.fit(model, "tiny", p, (texts[:40], k[:40]), (texts[40:], k[40:]), 0.5)
    history = logged(tmp_path, "auc_micro")
    assert learning_rates == [0.01] * (history.index(max(history)) + 1)
    assert all(0.0 <= v <= 1.0 for v in history)
    scores = text.predict(model, texts[40:])
    best = max(history)
    # restore_best_weights: the saved weights are those of the best epoch by validation AUC
    assert abs(tweet_evaluation.text_metrics(k[40:], scores, 0.5)["roc_auc_micro"] - best) < 1e-4
    summary = json.loads((tmp_path / "metrics/train/tiny/metrics.json").read_text())
    assert summary["eval"]["auc_micro"] == pytest.approx(history[-1]) and summary["step"] == len(history) - 1


@pytest.mark.parametrize(
    ("name", "loss", "power"),
    [("charcnn", "sigmoid", 0.0), ("charcnn", "sigmoid", 0.25), ("charcnn", "softmax", 0.0), ("rnn", "sigmoid", 0.0)],
)
def test_the_one_validation_pass_logs_what_keras_own_pass_would(data, tmp_path, monkeypatch, name, loss, power):
    monkeypatch.chdir(tmp_path)
    training.seed_everything(0)
    texts, k = data
    model = BUILDERS[name](texts, loss)
    p = {**FIT, "loss": loss, "positive_weight_power": power, "epochs": 2, "lr_patience": 0}
    val = (texts[40:], k[40:])
    text_training.fit(model, "tiny", p, (texts[:40], k[:40]), val, 0.5)
    vectorize, core = text.split(model)
    text_training.compile_model(core, loss, 0.01, "adam", text_training.loss_weights(p, k[:40]))
    batches = text_training.dataset(*text_training.train_targets(val, p), 16, vectorize=vectorize)
    keras_own = core.evaluate(batches, return_dict=True, verbose=0)
    assert logged(tmp_path, "loss")[-1] == pytest.approx(keras_own["loss"], rel=1e-4)
    assert logged(tmp_path, "rmse")[-1] == pytest.approx(keras_own["rmse"], rel=1e-4)
    assert len(logged(tmp_path, "loss")) == 2


def test_from_params_builds_what_the_section_describes(data):
    texts, _ = data

    def dense_layers(model):
        return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dense)]

    p = params.load("train_rnn", PARAMS)
    p.update(tokens="words", max_tokens=100, embedding_dim=4, units=4, cell="lstm", bidirectional=False)
    model = rnn.from_params(texts, p)
    assert model.get_layer("tokens").vocabulary_size() <= 100
    assert [type(layer) for layer in model.layers if isinstance(layer, keras.layers.RNN)] == [keras.layers.LSTM]
    c = params.load("train_charcnn", PARAMS)
    c.update(filters=4, embedding_dim=4, sequence_length=32)
    assert len(dense_layers(charcnn.from_params(texts, c))) == 2  # hidden_units: 256 by default
    c.update(hidden_units=0)
    assert dense_layers(charcnn.from_params(texts, c)) == ["kinds"]


def test_validation_auc_needs_present_and_absent_kinds(data):
    texts, k = data
    with pytest.raises(ValueError, match="micro ROC-AUC is undefined.*no .tweet, kind. pair.*monitor: val_loss"):
        text_training.ValidationScores(texts, np.zeros_like(k), k, 0.5)
    text_training.ValidationScores(texts, k, k, 0.5)  # the fixture has both


def test_every_allowed_monitor_has_a_direction():
    for name in ("train_rnn", "train_charcnn"):
        assert set(params.schema(name)["monitor"].options) == set(text_training.MONITOR_MODE)


FIT = {"loss": "sigmoid", "learning_rate": 0.1, "batch_size": 16, "seed": 0, "epochs": 8,
       "patience": 0, "monitor": "val_loss", "schedule": "plateau", "lr_patience": 1, "warmup": 0.0,
       "length_sorted_batches": 0, "optimizer": "adam", "positive_weight_power": 0.0}  # fmt: skip


@pytest.mark.parametrize("monitor", ["val_loss", "val_auc_micro"])
def test_learning_rate_halves_after_epochs_without_a_better_monitor(data, tmp_path, monkeypatch, monitor):
    monkeypatch.chdir(tmp_path)
    training.seed_everything(0)
    texts, k = data
    model = BUILDERS["charcnn"](texts, "sigmoid")
    learning_rates, _ = text_training.fit(
        model, "tiny", {**FIT, "monitor": monitor}, (texts[:40], k[:40]), (texts[40:], k[40:]), 0.5
    )
    scores = logged(tmp_path, {"val_loss": "loss", "val_auc_micro": "auc_micro"}[monitor])
    better = (lambda a, b: a > b) if monitor == "val_auc_micro" else (lambda a, b: a < b)
    # lr_patience 1: every epoch that does not beat the best so far halves the next epoch's rate
    # (the first epoch sets the best, so the second keeps the first's rate)
    expected, best = [0.1, 0.1], scores[0]
    for score in scores[1:-1]:
        expected.append(expected[-1] if better(score, best) else expected[-1] / 2)
        best = score if better(score, best) else best
    np.testing.assert_allclose(learning_rates, expected, rtol=1e-6)
    assert min(learning_rates) < 0.1  # the tiny run did reach a plateau, so the check above bit
    np.testing.assert_allclose(logged(tmp_path, "learning_rate", "train")[: len(learning_rates)], learning_rates)


def test_refit_trains_a_fresh_model_on_train_and_val_with_the_chosen_schedule(data):
    texts, k = data
    train, val = (texts[:40], k[:40]), (texts[40:].copy(), k[40:])
    val[0][0] = "zzzz only in val"  # a character the training tweets lack
    built = []

    def build(texts, p):
        built.append(list(texts))
        return BUILDERS["charcnn"](texts, p["loss"])

    history = keras.callbacks.History()

    def refit():
        return text_training.refit(build, FIT, train, val, [0.02, 0.01, 0.005], [history])

    model = refit()
    assert built[0] == list(train[0]) + list(val[0])  # its character vocabulary covers val too
    assert "z" in model.get_layer("characters").vectorize.get_vocabulary()
    assert len(history.history["loss"]) == 3
    np.testing.assert_allclose(history.history["learning_rate"], [0.02, 0.01, 0.005], rtol=1e-6)
    # seeded inside: the same call gives the same model whatever ran before it
    again = refit()
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


ONE_CYCLE = {**FIT, "schedule": "one_cycle", "lr_patience": 0, "warmup": 0.25, "epochs": 4}


class Rates(keras.callbacks.Callback):
    """The optimizer's learning rate at each training step."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        opt = self.model.optimizer
        self.rates.append(float(keras.ops.convert_to_numpy(opt.learning_rate)))


def test_one_cycle_warms_up_then_decays_to_zero_over_the_epochs_and_the_refit_follows_it(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    training.seed_everything(0)
    texts, k = data
    train, val = (texts[:40], k[:40]), (texts[40:], k[40:])
    schedule = text_training.learning_rate(ONE_CYCLE, 40)  # 40 tweets in batches of 16: 3 steps an epoch
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in range(4 * 3 + 1)]
    assert rates[0] == pytest.approx(0.01) and rates[3] == pytest.approx(0.1)  # a quarter of the steps
    assert (np.diff(rates[3:]) < 0).all() and rates[-1] == pytest.approx(0.0, abs=1e-9)
    assert text_training.learning_rate(FIT, 40) == 0.1  # plateau: the number, halved by a callback
    model = BUILDERS["charcnn"](texts, "sigmoid")
    learning_rates, callbacks = text_training.fit(model, "tiny", ONE_CYCLE, train, val, 0.5)
    assert len(learning_rates) == 4  # patience 0: every epoch runs, the last one is kept
    optimizer = callbacks[0].model.optimizer  # of the model fit trained: the ids-to-kinds core
    assert int(optimizer.iterations) == 12
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.0, abs=1e-9)
    assert not any(isinstance(c, keras.callbacks.ReduceLROnPlateau) for c in callbacks)
    # The refit: the same shape over the epochs fit kept, on 52 tweets (4 steps an epoch).
    seen = Rates()
    text_training.refit(lambda t, p: BUILDERS["charcnn"](t, p["loss"]), ONE_CYCLE, train, val, learning_rates, [seen])
    assert len(seen.rates) == 4 * 4
    assert seen.rates[0] == pytest.approx(0.01) and seen.rates[4] == pytest.approx(0.1)
    assert seen.rates[-1] < 0.01


def test_char_cnn_pads_each_batch_to_its_longest_tweet_and_scores_each_tweet_alike_in_any_batch(data):
    texts, _ = data
    p = section("train_charcnn", sequence_length=20, kernel_sizes=[2, 5])
    model = charcnn.from_params(texts, p)
    vectorize, _ = text.split(model)
    ids = vectorize(text.as_strings(["sunny", "hot"])).numpy()
    assert ids.shape == (2, 5) and (ids[1, 3:] == 0).all()  # the batch's longest tweet, no more
    assert vectorize(text.as_strings(["a"])).shape == (1, 5)  # at least the widest kernel
    assert vectorize(text.as_strings(["x" * 50])).shape == (1, 20)  # cut at sequence_length
    probe = ["rain", "a much longer tweet about a storm and the wind", "hot!"]
    together = text.predict(model, probe)
    alone = np.concatenate([text.predict(model, [t]) for t in probe])
    np.testing.assert_allclose(together, alone, rtol=1e-6, atol=1e-7)  # padding changes nothing


def test_window_max_pooling_ignores_windows_past_the_tweet():
    # Width 2 over ids [5, 6, 7, 0, 0] (3 characters): windows 0 and 1 are real, 2 and 3 read padding.
    features = np.array([[[1.0], [-4.0], [9.0], [8.0]]], dtype="float32")
    ids = np.array([[5, 6, 7, 0, 0]])
    pooled = layers.WindowMaxPooling1D(2)([features, ids])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(pooled), [[1.0]])
    # A tweet shorter than the width keeps its first window.
    short = layers.WindowMaxPooling1D(3)([features[:, :3], np.array([[5, 0, 0, 0, 0]])])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(short), [[1.0]])


def test_max_pooling_over_words_ignores_padded_steps():
    # A padded step holds zeros: a plain max would report 0 where every real word is negative.
    x = np.array([[[-1.0, -2.0], [-3.0, 5.0], [0.0, 0.0]]], dtype="float32")
    pooled = layers.MaskedMaxPooling1D()(x, mask=np.array([[True, True, False]]))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(pooled), [[-1.0, 5.0]])
    empty = layers.MaskedMaxPooling1D()(x, mask=np.array([[False, False, False]]))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(empty), [[0.0, 0.0]])


@pytest.mark.parametrize("name", ["rnn", "rnn_words"])
def test_rnn_pools_with_the_mask_keras_does_not_warn_of_destroying_it(data, name, recwarn):
    model = BUILDERS[name](data[0], "sigmoid")
    text.predict(model, ["rain today", "snow"])
    assert not [w for w in recwarn if "mask" in str(w.message)]
    pooling = [layer for layer in model.layers if isinstance(layer, layers.MaskedMaxPooling1D)]
    assert {layer.name for layer in pooling} == {"max_over_words", "words_present"}


@pytest.mark.parametrize("name", ["rnn", "rnn_words", "charcnn"])
def test_fitting_on_ids_gives_the_model_fitting_on_strings_gives(data, name):
    texts, k = data

    def trained(on_ids: bool):
        training.seed_everything(0)
        model = BUILDERS[name](texts, "sigmoid")
        vectorize, core = text.split(model)
        fitted = core if on_ids else model
        text_training.compile_model(fitted, "sigmoid", 0.01, "adam")
        batches = text_training.dataset(texts, k, 16, shuffle_seed=0, vectorize=vectorize if on_ids else None)
        fitted.fit(batches, epochs=2, shuffle=False, verbose=0)
        return model

    on_strings, on_ids = trained(False), trained(True)
    for a, b in zip(on_strings.get_weights(), on_ids.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(text.predict(on_ids, texts), text_training.predict(on_ids, texts), atol=1e-6)


def test_length_sorted_batches_hold_similar_lengths_each_epoch_another_order_and_every_tweet_once():
    lengths = np.array([5, 90, 12, 60, 33, 140, 7, 71, 25, 100, 48, 3])
    rng = np.random.default_rng([0, 0])
    batches = text_training.bucketed_order(lengths, batch_size=2, rng=rng, bucket=3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(12))  # each tweet once
    # Sorted within each run of 3 batches: a batch's lengths are neighbours in its run.
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    random_spread = np.mean([np.ptp(lengths[rng.permutation(12)[:2]]) for _ in range(200)])
    assert spread < random_spread / 2
    texts = np.array(["x" * n for n in lengths], dtype=object)
    ds = text_training.dataset(texts, np.zeros((12, 15), "float32"), 2, shuffle_seed=0, bucket=3)
    first, second = ([t.numpy()[0, 0].decode() for t, _ in ds] for _ in range(2))
    assert first != second  # reshuffled each epoch
    again = [
        t.numpy()[0, 0].decode() for t, _ in text_training.dataset(texts, np.zeros((12, 15), "float32"), 2, 0, bucket=3)
    ]
    assert again == first  # seeded: the same order on every run


def test_fit_and_refit_on_length_sorted_batches_print_no_warning_each_epoch(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    training.seed_everything(0)
    texts, k = data
    p = {**FIT, "epochs": 2, "lr_patience": 0, "length_sorted_batches": 2}
    train, val = (texts[:40], k[:40]), (texts[40:], k[40:])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # Keras's "Your input ran out of data" is one
        learning_rates, _ = text_training.fit(BUILDERS["charcnn"](texts, "sigmoid"), "tiny", p, train, val, 0.5)
        text_training.refit(lambda t, q: BUILDERS["charcnn"](t, q["loss"]), p, train, val, learning_rates)
    assert len(learning_rates) == 2
