import keras
import numpy as np
import pytest

from pipeline import training, tweets
from pipeline.models import charcnn, rnn, text

BUILDERS = {
    "rnn": lambda texts, loss: rnn.build(texts, loss, max_tokens=200, sequence_length=12, embedding_dim=8, units=8),
    "rnn_lstm_uni": lambda texts, loss: rnn.build(
        texts, loss, max_tokens=200, sequence_length=12, embedding_dim=8, cell="lstm", units=8, bidirectional=False
    ),
    "charcnn": lambda texts, loss: charcnn.build(texts, loss, sequence_length=64, embedding_dim=8, kernel_sizes=[2, 3], filters=8),
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
    text.compile(model, loss, 0.01)
    ds = text.dataset(texts, tweets.targets(k, loss), 16, shuffle_seed=0)
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
    soft = float(text.loss_fn("softmax")(tweets.targets(k, "softmax"), pred))
    np.testing.assert_allclose(soft, np.log(15), rtol=1e-5)  # renormalised targets sum to 1
    sig = float(text.loss_fn("sigmoid")(tweets.targets(k, "sigmoid"), pred))
    # mean over kinds of -[k log p + (1 - k) log(1 - p)], with the fractions as given
    p = 1 / 15
    expected = -np.mean(k * np.log(p) + (1 - k) * np.log(1 - p))
    np.testing.assert_allclose(sig, expected, rtol=1e-4)
    with pytest.raises(ValueError, match="allowed values: softmax, sigmoid"):
        text.loss_fn("mse")


@pytest.mark.parametrize("name", ["rnn", "charcnn"])
def test_saved_model_takes_raw_strings(tmp_path, data, name):
    training.seed_everything(0)
    texts, k = data
    model = BUILDERS[name](texts, "sigmoid")
    text.compile(model, "sigmoid", 0.01)
    model.fit(text.dataset(texts, k, 16), epochs=1, shuffle=False, verbose=0)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, compile=False)  # no code of ours needed to load
    new = np.array(["Snow and wind all day!!", "sunny :)", "", "zzz unseen words qqq"], dtype=object)
    np.testing.assert_allclose(text.predict(reloaded, new), text.predict(model, new), rtol=1e-6)


def test_vocabulary_is_inside_the_model(data):
    texts, _ = data
    model = BUILDERS["rnn"](texts, "sigmoid")
    vocab = model.get_layer("tokens").get_vocabulary()
    assert "rain" in vocab and "snow" in vocab
    chars = BUILDERS["charcnn"](texts, "sigmoid").get_layer("characters").get_vocabulary()
    assert "r" in chars and len(chars) < 60


def test_non_text_input_is_rejected(data):
    texts, _ = data
    model = BUILDERS["charcnn"](texts, "sigmoid")
    with pytest.raises(TypeError, match="tweet 1 is float, not text"):
        text.predict(model, ["ok", 3.5])
