"""The FLOP counter against models whose arithmetic is known by hand."""

import keras
import numpy as np
import pytest

from pipeline import flops, text_training
from pipeline.models import charcnn, rnn, text
from tests.tiny import section


def dense_net(*widths, bias=False, loss="mse"):
    inputs = keras.Input((widths[0],))
    x = inputs
    for width in widths[1:]:
        x = keras.layers.Dense(width, use_bias=bias)(x)
    model = keras.Model(inputs, x)
    model.compile(loss=loss)
    return model


def test_one_dense_layer_forward_is_two_flops_per_weight_plus_the_bias():
    assert flops.forward(dense_net(10, 4), (10,)) == 2 * 10 * 4
    assert flops.forward(dense_net(10, 4, bias=True), (10,)) == 2 * 10 * 4 + 4


def test_one_dense_layer_training_step_is_its_forward_and_its_weight_gradient():
    # Forward x.W (2*10*4) and dL/dW = x^T.g (2*10*4); the gradient for the input image is not
    # needed and not run. What remains is the loss and its gradient: a few FLOPs per output.
    step = flops.training_step(dense_net(10, 4), (10,))
    assert 2 * (2 * 10 * 4) <= step <= 2 * (2 * 10 * 4) + 10 * 4


def test_a_second_layer_adds_its_gradient_for_its_input():
    # 10 -> 6 -> 4: forwards 2*10*6 + 2*6*4, weight gradients the same again, and the second
    # layer passes its gradient down (2*6*4); the first layer's input gradient is pruned.
    matmuls = 2 * (2 * 10 * 6 + 2 * 6 * 4) + 2 * 6 * 4
    step = flops.training_step(dense_net(10, 6, 4), (10,))
    assert matmuls <= step <= matmuls + 10 * 4


def test_a_convolution_counts_every_position():
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    model = keras.Model(inputs, keras.layers.Flatten()(x))
    assert flops.forward(model, (28, 28, 1)) == 2 * 28 * 28 * 3 * 3 * 1 * 8


def test_a_recurrent_layer_counts_every_time_step():
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, keras.layers.GRU(4)(inputs))
    # Each step multiplies the input by the 3x12 kernel and the state by the 4x12 recurrent
    # kernel: at least those multiply-adds per step, and twice the steps cost twice as much.
    five, ten = flops.forward(model, (5, 3)), flops.forward(model, (10, 3))
    assert five >= 5 * 2 * (3 * 12 + 4 * 12)
    assert ten - five == pytest.approx(five, rel=0.1)


def test_a_sparse_label_loss_takes_integer_targets():
    model = dense_net(10, 4, loss="sparse_categorical_crossentropy")
    assert flops.training_step(model, (10,), target=((), "int64")) >= 2 * (2 * 10 * 4)


def test_ops_whose_size_depends_on_the_values_are_an_error_unless_allowed(tweet_texts):
    # The subword embedding averages only the real n-grams: how many is known only at run time.
    p = section("train_rnn")
    vectorize, core = text.split(rnn.from_params(tweet_texts, p))
    text_training.compile_model(core, "sigmoid", 0.01, p["optimizer"])
    with pytest.raises(ValueError, match="shapes not known, FLOPs cannot be counted"):
        flops.training_step(core, (8, 4), "int64")
    assert flops.training_step(core, (8, 4), "int64", data_dependent_ok=True) > 0


@pytest.mark.parametrize("name, module", [("charcnn", charcnn), ("rnn", rnn)])
def test_tweet_models_cost_grows_linearly_in_the_padded_length(name, module, tweet_texts):
    p = section(f"train_{name}")
    vectorize, core = text.split(module.from_params(tweet_texts, p))
    # With rare kinds weighted (train_*.positive_weight_power): the counter clones the compiled
    # model, its own loss class and all.
    weights = text_training.positive_weights(np.full((4, 15), 0.1), 0.25)
    text_training.compile_model(core, "sigmoid", 0.01, p["optimizer"], weights)
    shape = tuple(vectorize.output.shape[1:])
    a, b = flops.per_length(core, shape, vectorize.output.dtype)
    at_48 = flops.training_step(core, (48, 4)[: len(shape)], "int64", data_dependent_ok=True)
    assert b > 0 and a + b * 48 == pytest.approx(at_48, rel=1e-9)


def test_a_model_of_fixed_length_costs_the_same_for_every_tweet(tweet_texts):
    # tokens: words pads every tweet to sequence_length: its cost has no per-length part.
    p = section("train_rnn", tokens="words", max_tokens=200, sequence_length=12)
    vectorize, core = text.split(rnn.from_params(tweet_texts, p))
    text_training.compile_model(core, "sigmoid", 0.01, p["optimizer"])
    assert tuple(vectorize.output.shape[1:]) == (12,)
    a, b = flops.per_length(core, (12,), vectorize.output.dtype)
    assert b == 0 and a == pytest.approx(flops.training_step(core, (12,), "int64", data_dependent_ok=True), rel=1e-9)
    assert flops.per_length(core, (12,), vectorize.output.dtype, training=False)[0] < a


def test_seen_counts_the_batches_a_training_dataset_hands_out(tweet_texts):
    model = charcnn.from_params(tweet_texts, section("train_charcnn"))
    vectorize, _ = text.split(model)
    seen = text_training.Seen()
    texts = np.array(["rain", "a much longer tweet about the snow", "sun"], dtype=object)
    ds = text_training.dataset(texts, np.zeros((3, 15), "float32"), 2, vectorize=vectorize, seen=seen)
    for _ in range(2):  # two epochs
        for _ in ds:
            pass
    longest = min(len(texts[1]), section("train_charcnn")["sequence_length"])
    # Batches [rain, long] and [sun]: padded to the long tweet, and to the widest kernel.
    assert seen.examples == 2 * 3
    assert seen.steps == 2 * (2 * longest + 1 * max(section("train_charcnn")["kernel_sizes"]))
    assert seen.flops((10.0, 1.0)) == 10.0 * seen.examples + seen.steps


@pytest.fixture
def tweet_texts():
    words = ["rain", "snow", "sunny", "wind", "storm", "hot", "cold", "@mention", "{link}", "#weather"]
    rng = np.random.default_rng(0)
    return np.array([" ".join(rng.choice(words, 6)) for _ in range(40)], dtype=object)
