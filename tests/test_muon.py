import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from pipeline import fashion, params, training
from pipeline.models import autoencoder, cnn
from pipeline.muon import ConvMuon, KernelMuon, orthogonalised
from tests.tiny import dense_fitted, section


def conv_model(optimizer, kernel_scale: float = 1.0) -> keras.Model:
    """A convolution (its kernel times `kernel_scale`), batch norm, a Dense classifier."""
    keras.utils.set_random_seed(0)
    image = keras.Input((6, 6, 2))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="conv")(image)
    x = keras.layers.BatchNormalization(scale=False, epsilon=1e-9)(x)  # no epsilon to tell scales apart
    x = keras.layers.Flatten()(keras.layers.ReLU()(x))
    model = keras.Model(image, keras.layers.Dense(3, name="dense")(x))
    conv = model.get_layer("conv")
    conv.kernel.assign(conv.kernel * kernel_scale)
    model.compile(optimizer=optimizer, loss="mse")
    return model


def conv_trained(optimizer, kernel_scale: float = 1.0, steps: int = 3) -> keras.Model:
    model = conv_model(optimizer, kernel_scale)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        model.train_on_batch(rng.normal(size=(8, 6, 6, 2)).astype("float32"), rng.normal(size=(8, 3)).astype("float32"))
    return model


@pytest.mark.parametrize("shape", [(3, 3, 1, 16), (3, 3, 24, 48), (3, 3, 96, 96), (1, 1, 8, 64)])
def test_orthogonalised_gradients_have_singular_values_near_one(shape):
    # Wide and tall matrices alike (16 x 9 and 64 x 8 have more rows than columns): the
    # update's directions of about the same size where the gradient's differ tenfold.
    rng = np.random.default_rng(0)
    gradient = rng.normal(size=shape) * np.logspace(-1, 0, shape[-1])  # channels 10x apart
    matrix = tf.transpose(tf.reshape(orthogonalised(tf.constant(gradient, tf.float32), 3), (-1, shape[-1])))
    singular = np.linalg.svd(matrix.numpy(), compute_uv=False)
    assert singular.min() > 0.5 and singular.max() < 1.5, singular


def test_conv_muon_moves_everything_but_kernels_as_keras_nesterov_sgd():
    # A Keras optimizer belongs to the first model it trains: a new pair for each comparison.
    def pair():
        return ConvMuon(0.05, kernel_scale=0.3, weight_decay=1e-3), keras.optimizers.SGD(
            0.05, momentum=0.9, nesterov=True, weight_decay=1e-3
        )

    muon, sgd = pair()
    for a, b in zip(dense_fitted(muon), dense_fitted(sgd), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    # A kernel takes the other step (after one step the classifier, whose gradient came first, is still alike).
    muon, sgd = (conv_trained(optimizer, steps=1) for optimizer in pair())
    np.testing.assert_allclose(muon.get_layer("dense").kernel.numpy(), sgd.get_layer("dense").kernel.numpy(), rtol=1e-5)
    assert not np.allclose(muon.get_layer("conv").kernel.numpy(), sgd.get_layer("conv").kernel.numpy(), rtol=0.05)


def test_a_kernel_s_scale_changes_nothing_and_its_norm_is_held():
    # Batch norm follows the convolution, so a kernel 50x larger computes the same; ConvMuon
    # rescales it before its step, so one step takes both to the same kernel.
    one = [conv_trained(ConvMuon(0.05, kernel_scale=0.3), scale, steps=1) for scale in (1.0, 50.0)]
    a, b = (model.get_layer("conv").kernel.numpy() for model in one)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # Held at sqrt(4 channels) = 2 before each step, then moved by one step's size at most.
    kernel = conv_trained(ConvMuon(0.05, kernel_scale=0.3), 50.0, steps=3).get_layer("conv").kernel.numpy()
    assert abs(np.linalg.norm(kernel) - 2.0) < 0.05 * 0.3 * 2.0 * 1.5


def test_the_cnn_compiles_with_conv_muon_at_its_own_learning_rate():
    model = cnn.from_params(section("train_cnn", optimizer="muon", learning_rate=0.1, muon_learning_rate=0.02), 100)
    assert type(model.optimizer) is ConvMuon
    assert model.optimizer.kernel_scale == pytest.approx(0.2)
    config = keras.optimizers.serialize(model.optimizer)
    assert keras.optimizers.deserialize(config).get_config() == model.optimizer.get_config()


@pytest.mark.parametrize("test_time_flip", [True, False])
def test_the_saved_cnn_carries_no_optimizer_and_loads_without_one(tmp_path, test_time_flip):
    # Keras stores a compiled model's optimizer in the file and rebuilds it on loading, even
    # nested inside the flip-averaged model: a saved ConvMuon would need this project's code.
    model = cnn.from_params(section("train_cnn", optimizer="muon"), 16)
    x = np.random.default_rng(0).integers(0, 256, (16, 28, 28)).astype("uint8")
    model.fit(x, keras.utils.to_categorical(np.arange(16) % 10, 10), epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "cnn.keras"
    cnn.for_saving(model, test_time_flip).save(path)
    config = zipfile.ZipFile(path).read("config.json")
    assert b"ConvMuon" not in config and b"optimizer" not in config
    np.testing.assert_allclose(training.load(path).predict(x[:4], verbose=0).sum(axis=1), 1.0, rtol=1e-5)


def kernels_model(optimizer) -> keras.Model:
    """An embedding table, a Conv1D, a hidden Dense layer and an output layer ("out"), each
    with a bias, after one step on a fixed batch."""
    keras.utils.set_random_seed(0)
    ids = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(5, 4, name="embedding")(ids)
    x = keras.layers.GlobalMaxPooling1D()(keras.layers.Conv1D(8, 3, activation="relu", name="conv")(x))
    # Linear, and narrower than the output: its gradient has full rank, no singular value at 0.
    x = keras.layers.Dense(4, name="hidden")(x)
    model = keras.Model(ids, keras.layers.Dense(6, name="out")(x))
    model.compile(optimizer=optimizer, loss="mse")
    rng = np.random.default_rng(1)
    model.train_on_batch(rng.integers(0, 5, (32, 6)).astype("int32"), rng.normal(size=(32, 6)).astype("float32"))
    return model


def test_kernel_muon_steps_kernels_by_muon_and_the_rest_as_keras_adam():
    def weights(optimizer):
        return {v.path: v.numpy() for v in kernels_model(optimizer).weights}

    before, adam = weights(keras.optimizers.SGD(0.0)), weights(keras.optimizers.Adam(0.01))
    muon = weights(KernelMuon(0.01, exclude_layers=["out"]))
    on_muon = {"conv/kernel", "hidden/kernel"}  # 3-D and 2-D
    assert set(muon) > on_muon | {"embedding/embeddings", "out/kernel", "conv/bias"}
    for path in set(muon) - on_muon:  # the table, the biases, the excluded layer's kernel
        np.testing.assert_allclose(muon[path], adam[path], rtol=1e-5, atol=1e-7, err_msg=path)
    for path in on_muon:
        # One step from rest: the orthogonalised gradient (singular values near 1) times the
        # learning rate, scaled to Adam's size by Keras's 0.2 x sqrt(the matrix's larger side).
        step = (before[path] - muon[path]).reshape(-1, muon[path].shape[-1])
        singular = np.linalg.svd(step / (0.01 * 0.2 * max(step.shape) ** 0.5), compute_uv=False)
        assert singular.min() > 0.5 and singular.max() < 1.5, (path, singular)
        assert not np.allclose(muon[path], adam[path], rtol=0.05)


def test_the_autoencoder_trains_its_kernels_with_muon_but_its_output_layer_and_saves_without_it(tmp_path):
    assert set(params.schema("train_ae")["optimizer"].options) == set(autoencoder.OPTIMIZERS)
    model = autoencoder.from_params(section("train_ae", optimizer="muon"), 16)
    optimizer = model.optimizer
    assert type(optimizer) is KernelMuon and (optimizer.ns_steps, optimizer.weight_decay) == (3, None)
    on_adam = {v.path for v in model.trainable_variables if optimizer._should_use_adamw(v)}
    kernels = {v.path for v in model.trainable_variables if v.path.endswith("/kernel")}
    assert kernels - on_adam and on_adam & kernels == {f"{autoencoder.OUTPUT}/kernel"}
    x = np.random.default_rng(0).integers(0, 256, (16, 28, 28)).astype("uint8")
    model.fit(x, fashion.scaled(x), epochs=1, batch_size=8, verbose=0)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is KernelMuon and restored.get_config() == optimizer.get_config()
    path = tmp_path / "ae.keras"
    training.uncompiled(model).save(path)
    assert b"Muon" not in zipfile.ZipFile(path).read("config.json")
    np.testing.assert_allclose(keras.models.load_model(path).predict(x[:2], verbose=0), model.predict(x[:2], verbose=0))
