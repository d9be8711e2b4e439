import keras
import numpy as np
import pytest
import tensorflow as tf

from pipeline import text_training
from pipeline.optimizers import LazyAdam
from tests.tiny import dense_fitted

ROWS, DIM = 6, 3


def embedding_model(optimizer) -> keras.Model:
    """ids (N, 2) -> the sum of their rows of a ROWS x DIM table -> one output: a gather, so the
    table's gradient is sparse (tf.IndexedSlices), as the RNN's subword table's is."""
    keras.utils.set_random_seed(0)
    ids = keras.Input((2,), dtype="int32")
    x = keras.layers.Embedding(ROWS, DIM, name="table")(ids)
    x = keras.layers.Flatten()(x)
    model = keras.Model(ids, keras.layers.Dense(1, name="dense")(x))
    model.compile(optimizer=optimizer, loss="mse")
    return model


def trained(optimizer, batches) -> keras.Model:
    model = embedding_model(optimizer)
    for ids in batches:
        model.train_on_batch(np.array(ids, dtype="int32"), np.ones((len(ids), 1), dtype="float32"))
    return model


def table(model) -> np.ndarray:
    return model.get_layer("table").embeddings.numpy()


def test_rows_a_batch_does_not_use_stay_where_they_are():
    # Rows 1 and 2 are used in the first step, row 2 no more after it: Adam keeps moving row 2
    # with its momentum, LazyAdam leaves it (and every row never used) as it was.
    batches = [[[1, 2], [1, 1]], [[1, 3]], [[3, 1]]]
    before = table(embedding_model(LazyAdam(0.1)))
    after_first = table(trained(LazyAdam(0.1), batches[:1]))
    lazy, adam = table(trained(LazyAdam(0.1), batches)), table(trained(keras.optimizers.Adam(0.1), batches))
    np.testing.assert_array_equal(lazy[[0, 4, 5]], before[[0, 4, 5]])
    np.testing.assert_array_equal(lazy[2], after_first[2])
    assert not np.allclose(adam[2], after_first[2])
    assert not np.allclose(lazy[[1, 3]], before[[1, 3]])


def test_rows_used_in_every_step_move_as_with_adam_duplicates_included():
    # Every row in every batch, some twice: Adam's dense update and LazyAdam's are the same
    # arithmetic, a row's second moment taking the sum of its slices' squares in both.
    batches = [[[0, 1], [2, 3], [4, 5], [0, 0]], [[5, 4], [3, 2], [1, 0], [3, 3]]] * 3
    lazy, adam = trained(LazyAdam(0.05), batches), trained(keras.optimizers.Adam(0.05), batches)
    for a, b in zip(lazy.get_weights(), adam.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_dense_gradients_get_keras_adam_unchanged():
    for a, b in zip(dense_fitted(LazyAdam(0.01)), dense_fitted(keras.optimizers.Adam(0.01)), strict=True):
        np.testing.assert_array_equal(a, b)


def test_amsgrad_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="amsgrad is not supported; use keras.optimizers.Adam"):
        trained(LazyAdam(0.1, amsgrad=True), [[[1, 2]]])


def test_the_text_models_compile_with_the_optimizer_their_params_name():
    for name, kind in (("adam", keras.optimizers.Adam), ("lazy_adam", LazyAdam)):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        text_training.compile_model(model, "sigmoid", 0.01, name)
        assert type(model.optimizer) is kind
    assert set(text_training.OPTIMIZERS) == {"adam", "lazy_adam"}


def test_a_lazy_adam_model_saves_and_loads(tmp_path):
    model = trained(LazyAdam(0.1), [[[1, 2]]])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is LazyAdam
    np.testing.assert_array_equal(table(loaded), table(model))
    assert tf.is_tensor(loaded(np.array([[1, 2]], dtype="int32")))
