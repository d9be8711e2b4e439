"""The batches every model is fitted on and predicts from: tf.data pipelines without tf.data's
autotuning.

Why not hand Keras the arrays: for NumPy inputs Keras builds a pipeline whose parallel map and
prefetch are autotuned, and an autotuned pipeline's iterator runs a thread that wakes at
doubling intervals to retune it. In TensorFlow 2.21 destroying the iterator, which Keras does
at the end of every epoch, of every validation pass and of every `predict`, waits for that
thread's next wake-up while the process sits idle, for seconds at a time (docs/benchmarks.md,
"tf.data's autotuner"). With autotuning off there is no such thread; each
pipeline below either needs no tuning (the arrays are in memory, sliced a batch at a time) or
is tuned by hand.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def untuned(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` with autotuning off, and tf.data's static graph rewrites off, which would
    serialise the pipeline's graph, in-memory arrays included, for every iterator (as Keras's
    own array pipeline turns them off)."""
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    return dataset.with_options(options)


def of_arrays(*arrays: np.ndarray, batch_size: int, shuffle_seed: int | None = None) -> tf.data.Dataset:
    """Batches of `arrays` (inputs, or inputs and targets), which share their first axis, in
    order or, with a seed, in a new order each epoch (each iteration of the dataset). Each batch
    is gathered from the whole arrays by its indices, as Keras's array pipeline does: one slice
    a batch, not one per example."""
    if not arrays or len({len(a) for a in arrays}) != 1:
        raise ValueError(f"of_arrays: needs arrays of one length, got lengths {[len(a) for a in arrays]}")
    n = len(arrays[0])
    indices = tf.data.Dataset.range(n)
    if shuffle_seed is not None:
        indices = indices.shuffle(n, seed=shuffle_seed, reshuffle_each_iteration=True)
    whole = tf.data.Dataset.from_tensors(tuple(tf.convert_to_tensor(a) for a in arrays)).repeat()

    def gather(i, tensors):
        parts = tuple(tf.gather(t, i) for t in tensors)
        return parts if len(parts) > 1 else parts[0]

    return untuned(tf.data.Dataset.zip(indices.batch(batch_size), whole).map(gather).prefetch(1))
