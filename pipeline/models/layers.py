"""The project's custom Keras layers, in one module: loading any saved model imports this
alone (pipeline.training.load), not the model builders.

Registered names ("pipeline>..." and "tweets>...") are what saved .keras files refer to: keep
them when moving a layer.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops


@keras.saving.register_keras_serializable(package="pipeline")
class FlipLeftRight(layers.Layer):
    """Mirrors (N, 28, 28) images left to right; always, unlike RandomFlip."""

    def call(self, images):
        return keras.ops.flip(images, axis=-1)


@keras.saving.register_keras_serializable(package="pipeline")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras's BatchNormalization over the channels of NHWC feature maps, computed by
    TensorFlow's fused kernels: one op for the batch statistics, the normalisation and the
    offset, one for their gradient, where Keras 3 runs a chain of element-wise ops that each
    pass over the whole map (tf.keras 2 used these kernels too). Same weights and config as
    the Keras layer; the moving variance is the batch's unbiased variance, as in tf.keras 2.

    Only what the fused kernels compute is accepted: 4-D inputs normalised over the last axis,
    no renorm, no mask, no cross-replica synchronisation.
    """

    def __init__(self, **kwargs):
        unsupported = [k for k in ("renorm", "synchronized") if kwargs.get(k)]
        if kwargs.get("axis", -1) not in (-1, 3):
            unsupported.append("axis")
        if unsupported:
            raise ValueError(
                f"FusedBatchNormalization does not support {', '.join(unsupported)}: "
                "use keras.layers.BatchNormalization for those"
            )
        super().__init__(**kwargs)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"FusedBatchNormalization normalises 4-D NHWC feature maps, got shape {input_shape}: "
                "use keras.layers.BatchNormalization for other ranks"
            )
        super().build(input_shape)

    def call(self, inputs, training=None, mask=None):
        if mask is not None:
            raise ValueError("FusedBatchNormalization takes no mask: use keras.layers.BatchNormalization")
        ones = tf.ones_like(self.moving_mean)
        scale = self.gamma if self.scale else ones
        offset = self.beta if self.center else tf.zeros_like(self.moving_mean)
        train = bool(training) and self.trainable
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            # In float32 under mixed precision too, as Keras's layer computes: bfloat16 moments
            # lose digits, and oneDNN's bfloat16 kernels took longer than the casts around these.
            ops.cast(inputs, "float32"),
            scale,
            offset,
            mean=self.moving_mean,
            variance=self.moving_variance,
            epsilon=self.epsilon,
            is_training=train,
            # The kernel updates the moving statistics itself: old * momentum + batch * (1 - momentum).
            exponential_avg_factor=1 - self.momentum if train else 1.0,
        )
        if train:
            self.moving_mean.assign(mean)
            self.moving_variance.assign(variance)
        return ops.cast(outputs, self.compute_dtype)


@keras.saving.register_keras_serializable(package="pipeline")
class HubFeatures(keras.layers.Layer):
    """A TF-Hub image feature vector (float RGB in [0, 1] -> features) as a frozen Keras 3 layer.

    Its variables belong to the SavedModel, not to Keras: a saved .keras model stores the
    handle and loads the module again from it.
    """

    def __init__(self, handle: str, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        import tensorflow_hub as hub

        self.handle = handle
        self.module = hub.load(handle)

    def call(self, images):
        return self.module(images)

    def compute_output_shape(self, input_shape):
        import tensorflow as tf

        spec = tf.TensorSpec([1, *input_shape[1:]], self.compute_dtype)
        out = self.module.__call__.get_concrete_function(spec).structured_outputs
        return (input_shape[0], *out.shape[1:])

    def get_config(self):
        return {**super().get_config(), "handle": self.handle}


# What TextVectorization's "lower_and_strip_punctuation" strips, so both token kinds see the
# same words: '#rain' and '@mention' become 'rain' and 'mention'.
PUNCTUATION = r"""[!"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~']"""


@keras.saving.register_keras_serializable(package="tweets")
class SubwordIds(layers.Layer):
    """Raw tweets (N, 1) -> hashed subword ids (N, words, n-grams per word); 0 pads.

    `words` is the batch's longest tweet, at most `sequence_length`: what follows is masked, so
    padding up to `sequence_length` would only add recurrent steps that change nothing.
    Hashing (fingerprint64, stable across runs and machines) needs no vocabulary, so a word
    never seen in training still gets the embeddings of the n-grams it shares with seen ones.
    """

    def __init__(self, sequence_length: int, buckets: int, ngram_widths=(3, 4, 5), **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = sequence_length
        self.buckets = buckets
        self.ngram_widths = tuple(ngram_widths)

    def call(self, inputs):
        tweets = tf.strings.regex_replace(tf.strings.lower(tf.reshape(inputs, [-1])), PUNCTUATION, " ")
        words = tf.strings.split(tweets)[:, : self.sequence_length].to_tensor(default_value="")
        # At least one (empty, so masked) word: a recurrent layer cannot run over no steps at all.
        words = tf.pad(words, [[0, 0], [0, tf.maximum(1 - tf.shape(words)[1], 0)]], constant_values="")
        marked = tf.strings.join(["<", words, ">"])
        grams = tf.strings.ngrams(tf.strings.unicode_split(marked, "UTF-8"), self.ngram_widths, separator="")
        whole = tf.RaggedTensor.from_tensor(marked[..., None], ragged_rank=2)
        ids = (tf.strings.to_hash_bucket_fast(tf.concat([whole, grams], axis=-1), self.buckets) + 1).to_tensor(0)
        return tf.where((words != "")[..., None], ids, tf.zeros_like(ids))

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], None, None), dtype="int64")

    def get_config(self):
        return {
            **super().get_config(),
            "sequence_length": self.sequence_length,
            "buckets": self.buckets,
            "ngram_widths": list(self.ngram_widths),
        }


@keras.saving.register_keras_serializable(package="tweets")
class SubwordEmbedding(layers.Layer):
    """Subword ids (N, T, G) -> each token's mean embedding (N, T, dim), masking empty tokens."""

    def __init__(self, input_dim: int, output_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim),
            initializer=keras.initializers.RandomUniform(-0.05, 0.05),  # as keras' Embedding
            name="embeddings",
        )

    def call(self, ids):
        # Only the real n-grams: a batch's ids are padded to its longest word, and gathering
        # the padding (about 90% of a batch of tweets' ids) cost most of a training step.
        # A gather (not tf.sparse.segment_mean) on purpose: its gradient is one slice per
        # occurrence, and Keras's Adam squares each slice before summing those of one row, which
        # is what the RNN was tuned with (a dense gradient gave a lower validation ROC-AUC).
        shape = tf.shape(ids, out_type=tf.int64)
        real = tf.where(ids > 0)
        vectors = tf.gather(self.embeddings, tf.gather_nd(ids, real))
        words = real[:, 0] * shape[1] + real[:, 1]
        sums = tf.math.unsorted_segment_sum(vectors, words, num_segments=shape[0] * shape[1])
        sums = tf.reshape(sums, [shape[0], shape[1], self.output_dim])
        counts = ops.sum(ops.cast(ids > 0, sums.dtype), axis=-1, keepdims=True)
        return sums / ops.maximum(counts, 1.0)

    def compute_mask(self, ids, mask=None):
        return ops.any(ids > 0, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim}


@keras.saving.register_keras_serializable(package="tweets")
class MaskedMaxPooling1D(layers.Layer):
    """(N, T, D) -> (N, D): each feature's maximum over the time steps the mask keeps; 0 for a
    tweet with none. Keras's GlobalMaxPooling1D ignores the mask, so padded steps (zeros) would
    take part in the max and hide every negative value of a real word."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x, mask=None):
        if mask is None:
            return ops.max(x, axis=1)
        keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
        pooled = ops.max(ops.where(keep, x, ops.full_like(x, float("-inf"))), axis=1)
        return ops.where(ops.any(keep, axis=1), pooled, ops.zeros_like(pooled))

    def compute_mask(self, x, mask=None):
        return None  # no time axis left to mask

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="tweets")
class CharacterIds(layers.Layer):
    """Character ids (N, T) of a batch of raw tweets, T the batch's longest tweet (at least
    `min_length`, at most `sequence_length`); 0 pads. Wraps a TextVectorization layer without a
    fixed output length, so a batch of short tweets costs what they hold, not 160 characters."""

    def __init__(self, vectorize, sequence_length: int, min_length: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.vectorize = vectorize
        self.sequence_length = sequence_length
        self.min_length = min_length

    def call(self, inputs):
        ids = self.vectorize(inputs)[:, : self.sequence_length]
        # A convolution of width k needs k steps: pad a batch of very short tweets up to that.
        return tf.pad(ids, [[0, 0], [0, tf.maximum(self.min_length - tf.shape(ids)[1], 0)]])

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], None), dtype="int64")

    def get_config(self):
        return {
            **super().get_config(),
            "vectorize": keras.saving.serialize_keras_object(self.vectorize),
            "sequence_length": self.sequence_length,
            "min_length": self.min_length,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["vectorize"] = keras.saving.deserialize_keras_object(config["vectorize"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="tweets")
class WindowMaxPooling1D(layers.Layer):
    """[features of a width-`width` convolution (N, T - width + 1, D), the ids it read (N, T)]
    -> (N, D): each feature's maximum over the windows that start on a real character (0 pads
    the ids), so the padding of a batch's shorter tweets never takes part."""

    def __init__(self, width: int, **kwargs):
        super().__init__(**kwargs)
        self.width = width

    def call(self, inputs):
        x, ids = inputs
        lengths = ops.sum(ops.cast(ids > 0, "int32"), axis=1)
        # Windows wholly inside the tweet; a tweet shorter than the width keeps its first window.
        windows = ops.maximum(lengths - self.width + 1, 1)
        keep = ops.arange(ops.shape(x)[1])[None, :] < windows[:, None]
        return ops.max(ops.where(keep[..., None], x, ops.full_like(x, float("-inf"))), axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][2])

    def get_config(self):
        return {**super().get_config(), "width": self.width}
