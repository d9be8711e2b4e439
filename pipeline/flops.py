"""Training and inference cost in FLOPs, counted from a model's TensorFlow graph.

The budgets of this project are FLOPs, not seconds: wall time on shared 2-core machines moves
by 2-4x between hosts of one kind, while the arithmetic a recipe spends does not. A count comes
from TensorFlow's profiler (tfprof's `float_ops`, which uses each op's registered FLOP
statistics: a multiply-add is 2 FLOPs) run over the graph of one real training step, the
forward pass, the loss and the gradients of every trainable weight, so the backward pass is
counted as TensorFlow builds it (no "3x forward" rule of thumb).

Recurrent layers run as a `while` loop whose body the profiler counts once, not once per time
step, so they are traced unrolled (same weights, same arithmetic) for the count.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops


def _count(concrete, data_dependent_ok: bool = False) -> int:
    """The FLOPs of the ops `concrete`'s outputs depend on, by each op's registered statistics
    (the registry tfprof's float_ops reads). Only what the outputs need, as TensorFlow runs a
    function: a gradient function may build results nobody uses (the first convolution's
    gradient for its input image), and the runtime prunes them."""
    graph = concrete.graph
    total = 0
    # Both helpers are TF1 functions that log a deprecation warning when called.
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")
    try:
        outputs = [t.op.name for t in concrete.outputs]
        names = {node.name for node in tf.compat.v1.graph_util.extract_sub_graph(graph.as_graph_def(), outputs).node}
        for op in graph.get_operations():
            if op.name not in names:
                continue
            try:
                stats = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops")
            except ValueError:  # an op with a statistic whose shapes are not static
                if data_dependent_ok:
                    continue
                raise ValueError(f"{op.name} ({op.type}): shapes not known, FLOPs cannot be counted") from None
            total += stats.value or 0
    finally:
        logger.setLevel(level)
    return int(total)


def _unrolled(model: keras.Model) -> keras.Model:
    """`model` with every recurrent layer unrolled, for counting: the profiler sees a `while`
    loop's body once."""
    has_rnn = any(isinstance(layer, keras.layers.RNN) for layer in _layers(model))
    if not has_rnn:
        return model

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.Bidirectional):
            for side in ("layer", "backward_layer"):
                if side in config:
                    config[side]["config"]["unroll"] = True
        elif isinstance(layer, keras.layers.RNN):
            config["unroll"] = True
        return layer.__class__.from_config(config)

    return keras.models.clone_model(model, clone_function=clone)


def _layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers(layer)
        if isinstance(layer, keras.layers.Bidirectional):
            yield layer.forward_layer


def forward(model: keras.Model, example_shape: tuple, dtype="float32", data_dependent_ok: bool = False) -> int:
    """FLOPs of one example's forward pass (inference mode) at `example_shape` (no batch axis)."""
    model = _unrolled(model)
    spec = tf.TensorSpec((1, *example_shape), dtype)
    return _count(
        tf.function(lambda x: model(x, training=False), autograph=False).get_concrete_function(spec), data_dependent_ok
    )


def training_step(
    model: keras.Model, example_shape: tuple, dtype="float32", target=None, data_dependent_ok: bool = False
) -> int:
    """FLOPs of one example's training step at `example_shape`: forward pass in training mode,
    the model's compiled loss, and the gradient of every trainable weight (the optimiser's
    update, a few FLOPs per weight per batch, is left out). `target`: the (shape, dtype) of one
    example's target, by default the model's output. `data_dependent_ok`: leave out the ops
    whose size depends on the values, not the shapes (the subword embedding averages only the
    real n-grams of a batch: a few additions per n-gram and dimension); otherwise they raise."""
    if model.loss is None:
        raise ValueError(f"{model.name}: compile the model first; its training step includes the loss")
    loss = keras.losses.get(model.loss)
    model = _unrolled(model)
    target_shape, target_dtype = target or (model.output_shape[1:], "float32")
    x_spec = tf.TensorSpec((1, *example_shape), dtype)
    y_spec = tf.TensorSpec((1, *target_shape), target_dtype)
    weights = model.trainable_variables

    def step(x, y):
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True))
        return tape.gradient(value, weights)

    return _count(tf.function(step, autograph=False).get_concrete_function(x_spec, y_spec), data_dependent_ok)


def per_length(model: keras.Model, example_shape: tuple, dtype: str, training: bool = True) -> tuple[float, float]:
    """(a, b) such that one example costs a + b * T FLOPs at length T (a training step, or with
    training=False a forward pass), for a model whose input's first None axis in
    `example_shape` is the tweet's length (characters or words; with no None axis, every example
    has the same length and costs a, b = 0): convolutions, recurrent steps
    and their gradients all grow linearly in it. Any other None (subword n-grams per word) is
    counted at 4; embedding look-ups are no FLOPs, and the ops whose size depends on the
    values are left out (see training_step).

    Counted at the two shortest lengths that show the slope, L and 2L, L = 2 or the widest 1-D
    convolution's kernel if wider (a shorter input would leave a kernel no window): an unrolled
    recurrent layer's graph grows with the length, and so does the time to build and count it
    (tests/test_flops.py checks the line against a count at 48)."""

    def at(length):
        dims = list(example_shape)
        if None in dims:
            dims[dims.index(None)] = length
        shape = tuple(4 if d is None else d for d in dims)
        if training:
            return training_step(model, shape, dtype, data_dependent_ok=True)
        return forward(model, shape, dtype, data_dependent_ok=True)

    if None not in example_shape:  # every example as long as the next (words: padded to sequence_length)
        return at(None), 0.0
    short = max([2, *(layer.kernel_size[0] for layer in _layers(model) if isinstance(layer, keras.layers.Conv1D))])
    long = 2 * short
    low, high = at(short), at(long)
    slope = (high - low) / (long - short)
    return low - slope * short, slope
