import keras
import numpy as np
import pytest
import tensorflow as tf

from pipeline import fashion, image_evaluation, training
from pipeline.models import autoencoder, cnn, transfer
from pipeline.models.layers import FusedBatchNormalization
from tests.conftest import SHARED_DATA
from tests.tiny import architecture, compile_small, section, small_application

WEIGHTS = SHARED_DATA / "weights" / "mobilenet_2_5_224_tf_no_top.h5"


def test_keras_3_not_legacy():
    import os

    assert keras.__version__.startswith("3.") and "TF_USE_LEGACY_KERAS" not in os.environ
    assert tf.keras.Model is keras.Model


@pytest.mark.parametrize("filters, code", [([8], 16), ([8, 16], 32), ([16, 32], 128)])
def test_autoencoder_shapes(filters, code):
    model = autoencoder.build(filters=filters, code_size=code)
    assert model.output_shape == (None, 28, 28)
    assert image_evaluation.code_size(model) == code
    assert any(isinstance(layer, keras.layers.UpSampling2D) for layer in model.layers)
    assert any(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers)
    with pytest.raises(ValueError, match="at most 2 levels"):
        autoencoder.build(filters=[4, 4, 4], code_size=8)


@pytest.mark.parametrize("optimizer", ["muon", "adam"])
def test_autoencoder_trains(images, optimizer):
    training.seed_everything(0)
    x, _ = images
    p = section("train_ae", optimizer=optimizer, learning_rate=0.01, epochs=5, batch_size=8)
    model = autoencoder.from_params(p, len(x))
    hist = model.fit(x, fashion.scaled(x), epochs=5, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    out = model.predict(x[:3], verbose=0)
    assert out.shape == (3, 28, 28) and out.min() >= 0 and out.max() <= 1


def test_cnn_shapes_and_training(images):
    training.seed_everything(0)
    x, y = images
    augment = {"flip": True, "translate": 0.1, "zoom": 0.1, "erase": 0.5}
    model = cnn.build(
        **architecture(
            "train_cnn",
            cnn.build,
            filters=[4, 8, 8],
            convs_per_block=[2, 2, 2],
            dropout=0.1,
            batch_norm=True,
            augment=augment,
        )
    )
    assert model.output_shape == (None, 10)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 1 + 6 and all(c.padding == "same" and c.strides == (1, 1) for c in convs)  # stem + blocks
    norms = [layer for layer in model.layers if "Normalization" in type(layer).__name__]
    assert len(norms) == len(convs) and all(type(n) is FusedBatchNormalization for n in norms)
    compile_small(model, "sgd")
    hist = model.fit(x, keras.utils.to_categorical(y, 10), epochs=3, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    probs = model.predict(x[:4], verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(x[:4], verbose=0), probs)  # no augmentation at inference


def test_flip_averaging_is_the_mean_of_both_views_and_reloads(tmp_path, images):
    training.seed_everything(0)
    x, _ = images
    trained = cnn.build(**architecture("train_cnn", cnn.build, convs_per_block=[1, 1], dense_units=8, dropout=0.0))
    model = cnn.with_flip_averaging(trained)
    assert model.count_params() == trained.count_params()  # one network, two views
    probs = model.predict(x[:6], verbose=0)
    mirrored = trained.predict(x[:6, :, ::-1], verbose=0)
    np.testing.assert_allclose(probs, (trained.predict(x[:6], verbose=0) + mirrored) / 2, rtol=1e-6)
    np.testing.assert_allclose(model.predict(x[:6, :, ::-1], verbose=0), probs, rtol=1e-6)  # mirror-invariant
    path = tmp_path / "cnn.keras"
    model.save(path)
    np.testing.assert_array_equal(training.load(path).predict(x[:6], verbose=0), probs)


@pytest.fixture
def bfloat16_policy():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_cnn_in_mixed_bfloat16(tmp_path, images, bfloat16_policy):
    training.seed_everything(0)
    x, y = images
    model = cnn.build(**architecture("train_cnn", cnn.build, dropout=0.1))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert {c.compute_dtype for c in convs} == {"bfloat16"}
    compile_small(model, "muon")  # the default optimizer's kernel steps in bfloat16 compute too
    hist = model.fit(x, keras.utils.to_categorical(y, 10), epochs=3, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    saved = cnn.with_flip_averaging(model)
    probs = saved.predict(x[:4], verbose=0)
    assert probs.dtype == np.float32  # softmax and averaging stay in float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    saved.save(tmp_path / "cnn.keras")
    keras.mixed_precision.set_global_policy("float32")  # loading must not depend on the policy
    np.testing.assert_array_equal(training.load(tmp_path / "cnn.keras").predict(x[:4], verbose=0), probs)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_fused_batch_norm_computes_what_keras_batch_norm_does(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        x = tf.constant(np.random.default_rng(0).normal(2, 3, (8, 5, 5, 4)), tf.float32)
        fused, plain = (
            FusedBatchNormalization(scale=False, momentum=0.9),
            keras.layers.BatchNormalization(scale=False, momentum=0.9),
        )
        for layer in (fused, plain):
            layer.build(x.shape)
            layer.beta.assign([0.0, 0.1, 0.2, 0.3])
        grads = []
        for layer in (fused, plain):
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = layer(x, training=True)
                out32 = tf.cast(out, tf.float32)
                loss = tf.reduce_sum(out32**2 * [0.0, 1.0, 2.0, 3.0]) + tf.reduce_sum(out32)
            grads.append((out, *tape.gradient(loss, [x, layer.beta])))
        (out, dx, dbeta), (want, want_dx, want_dbeta) = grads
        assert out.dtype == want.dtype == fused.compute_dtype
        tol = 1e-5 if policy == "float32" else 2e-2
        np.testing.assert_allclose(np.float32(out), np.float32(want), atol=tol)
        np.testing.assert_allclose(np.float32(dx), np.float32(want_dx), atol=tol * 10)
        np.testing.assert_allclose(np.float32(dbeta), np.float32(want_dbeta), atol=tol * 100)
        np.testing.assert_allclose(fused.moving_mean.numpy(), plain.moving_mean.numpy(), atol=1e-6)
        n = 8 * 5 * 5  # values per channel: the fused kernel keeps the unbiased variance, as tf.keras 2 did
        batch_variance = (plain.moving_variance.numpy() - 0.9) / 0.1  # from the initial 1 with momentum 0.9
        np.testing.assert_allclose(fused.moving_variance.numpy(), 0.9 + 0.1 * batch_variance * n / (n - 1), rtol=1e-5)
        plain.moving_variance.assign(fused.moving_variance)
        np.testing.assert_allclose(np.float32(fused(x)), np.float32(plain(x)), atol=tol)  # inference: moving statistics
        frozen = FusedBatchNormalization(scale=False, trainable=False)
        frozen.build(x.shape)
        frozen(x, training=True)
        assert frozen.moving_mean.numpy().tolist() == [0.0] * 4  # a frozen layer keeps its statistics
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize(
    ("kwargs", "shape", "says"),
    [
        ({"renorm": True}, (2, 4, 4, 3), "renorm"),
        ({"synchronized": True}, (2, 4, 4, 3), "synchronized"),
        ({"axis": 1}, (2, 4, 4, 3), "axis"),
        ({}, (2, 3), "4-D"),
    ],
)
def test_fused_batch_norm_refuses_what_its_kernel_cannot_compute(kwargs, shape, says):
    with pytest.raises(ValueError, match=says):
        FusedBatchNormalization(**kwargs).build(shape)


def test_fused_batch_norm_refuses_a_mask():
    layer = FusedBatchNormalization()
    with pytest.raises(ValueError, match="no mask"):
        layer(tf.zeros((2, 4, 4, 3)), mask=tf.ones((2, 4, 4)))


def test_same_seed_same_weights(images):
    x, y = images
    runs = []
    for _ in range(2):
        training.seed_everything(7)
        model = cnn.build(
            **architecture(
                "train_cnn", cnn.build, filters=[4], convs_per_block=[1], dense_units=8, dropout=0.2,
                batch_norm=True, augment={"translate": 0.1},
            )
        )  # fmt: skip
        cnn.compile_model(
            model,
            optimizer="sgd",
            learning_rate=0.01,
            warmup=0.2,
            weight_decay=0.0,
            label_smoothing=0.0,
            steps=5,
            muon_learning_rate=0.01,
        )
        model.fit(x, keras.utils.to_categorical(y, 10), epochs=1, batch_size=8, verbose=0)
        runs.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*runs, strict=True))


def test_image_models_run_several_steps_per_call_with_the_weights_of_one(images):
    x, y = images
    p = section("train_cnn", filters=[4, 8], convs_per_block=[1, 1], epochs=2, batch_size=8)
    weights = []
    for steps in (1, training.STEPS_PER_EXECUTION):
        training.seed_everything(5)
        model = cnn.from_params(p, len(x))  # batch norm, random flips: state that steps carry over
        assert model.steps_per_execution == training.STEPS_PER_EXECUTION
        model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"], steps_per_execution=steps)
        model.fit(x, keras.utils.to_categorical(y, 10), epochs=2, batch_size=8, verbose=0)
        weights.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))
    assert autoencoder.from_params(section("train_ae"), len(x)).steps_per_execution == training.STEPS_PER_EXECUTION
    assert transfer.head_from_params(section("train_transfer"), 8).steps_per_execution == training.STEPS_PER_EXECUTION


def fit_head(features, head, x, y, epochs=3):
    head.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    head.fit(features.predict(x, verbose=0), y, epochs=epochs, batch_size=8, verbose=0)


@pytest.mark.parametrize("pooling, n_features", [("avg", 256), ("max", 256)])
def test_transfer_only_the_dense_layer_changes(tmp_path, images, pooling, n_features):
    training.seed_everything(0)
    x, y = images
    features = transfer.features_from_params(
        section("train_transfer", weights=small_application(tmp_path), input_size=32, pooling=pooling)
    )
    assert features.output_shape == (None, n_features)
    assert features.trainable_weights == []
    head = transfer.build_head(n_features, l2=1e-4)
    model = transfer.combine(features, head)
    before = {w.path: w.numpy().copy() for w in model.weights}
    fit_head(features, head, x, y)
    changed = {w.path for w in model.weights if not np.array_equal(before[w.path], w.numpy())}
    assert changed == {w.path for w in head.get_layer("classifier").weights}
    assert len(changed) == 2  # the Dense kernel and bias, nothing in the backbone


def test_transfer_grid_pooling_keeps_layout(tmp_path):
    features = transfer.features_from_params(
        section("train_transfer", weights=small_application(tmp_path), input_size=64, pooling="grid2")
    )
    assert features.output_shape == (None, 4 * 256)


def test_transfer_unknown_backbone():
    with pytest.raises(ValueError, match="'NoSuchNet' is not a keras.applications model"):
        transfer.features_from_params(section("train_transfer", backbone="NoSuchNet"))


@pytest.mark.skipif(not WEIGHTS.is_file(), reason="needs the real weights in ../shared/data")
def test_transfer_loads_the_real_imagenet_weights():
    features = transfer.features_from_params(
        section("train_transfer", weights=str(WEIGHTS), input_size=32, pooling="avg")
    )
    assert features.count_params() == 218_544
    assert features.output_shape == (None, 256)


class TinyHubModule(tf.Module):
    """A TF-Hub style image feature vector: float RGB in [0, 1] -> 4 features."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.random.stateless_normal((3, 4), seed=(1, 2)))

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def __call__(self, images):
        return tf.matmul(tf.reduce_mean(images, axis=[1, 2]), self.w)


@pytest.fixture
def hub_savedmodel(tmp_path):
    path = tmp_path / "hub_module"
    tf.saved_model.save(TinyHubModule(), str(path))
    return str(path)


def test_transfer_hub_backbone_is_frozen_and_saves(tmp_path, images, hub_savedmodel):
    training.seed_everything(0)
    x, y = images
    features = transfer.features_from_params(
        section("train_transfer", backbone="hub", hub_handle=hub_savedmodel, input_size=32)
    )
    assert features.output_shape == (None, 4) and features.trainable_weights == []
    head = transfer.build_head(4, l2=0.0)
    model = transfer.combine(features, head)
    hub_before = features.get_layer("backbone").module.w.numpy().copy()
    kernel_before = head.get_layer("classifier").kernel.numpy().copy()
    fit_head(features, head, x, y)
    assert np.array_equal(hub_before, features.get_layer("backbone").module.w.numpy())
    assert not np.array_equal(kernel_before, head.get_layer("classifier").kernel.numpy())
    path = tmp_path / "hub.keras"
    model.save(path)
    again = training.load(path)
    np.testing.assert_allclose(again.predict(x[:5], verbose=0), model.predict(x[:5], verbose=0), rtol=1e-5)


def test_transfer_hub_needs_a_handle():
    with pytest.raises(ValueError, match="hub_handle"):
        transfer.features_from_params(section("train_transfer", backbone="hub", hub_handle=""))
