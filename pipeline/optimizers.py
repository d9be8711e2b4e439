"""LazyAdam: Adam whose embedding tables move only in the rows a batch uses.

Keras's Adam turns a sparse gradient (tf.IndexedSlices, what a gather from an embedding table
gives) into a dense update: every row of the table, its first and its second moment is read and
written on every step, though a batch of tweets touches a few thousand of the RNN's 32,769
subword rows. LazyAdam (as TensorFlow Addons' LazyAdam and PyTorch's SparseAdam) updates the
moments and the weights of the rows with a gradient only: a row's moments decay when it is used,
not on every step. Every other variable, whose gradient is dense, gets Keras's Adam as it is.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="pipeline")
class LazyAdam(keras.optimizers.Adam):
    def update_step(self, gradient, variable, learning_rate):
        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        if self.amsgrad:
            raise ValueError("LazyAdam: amsgrad is not supported; use keras.optimizers.Adam for amsgrad")
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        alpha = (
            tf.cast(learning_rate, dtype)
            * tf.sqrt(1 - tf.pow(tf.cast(self.beta_2, dtype), step))
            / (1 - tf.pow(tf.cast(self.beta_1, dtype), step))
        )
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        # One update per row: the slices of a row are summed, and its second moment takes the
        # sum of their squares, as Keras's Adam squares each slice of a sparse gradient.
        rows, position = tf.unique(gradient.indices)
        n = tf.shape(rows)[0]
        values = tf.cast(gradient.values, dtype)
        g = tf.math.unsorted_segment_sum(values, position, n)
        s = tf.math.unsorted_segment_sum(tf.square(values), position, n)
        m_rows = tf.gather(_tf(m), rows)
        v_rows = tf.gather(_tf(v), rows)
        m_rows = m_rows + (g - m_rows) * (1 - self.beta_1)
        v_rows = v_rows + (s - v_rows) * (1 - self.beta_2)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        self.assign_sub(variable, tf.IndexedSlices(m_rows * alpha / (tf.sqrt(v_rows) + self.epsilon), rows))


def _tf(variable):
    """The tf.Variable under a Keras variable (update_step may get either)."""
    return variable.value if isinstance(variable, keras.Variable) else variable
