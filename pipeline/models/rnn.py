"""train_rnn: a recurrent network over word or subword tokens, from raw tweet strings to 15 kind
scores.

Tokens (`tokens` param), both inside the saved model:
- `words`: TextVectorization (lower-case, punctuation stripped, whitespace split; its vocabulary
  is learned from the training tweets) -> one learned embedding per word; index 0 is padding.
- `subwords` (fastText-style, Bojanowski et al. 2017): the same words, each embedded as the mean
  of learned embeddings of the word itself and its character 3-, 4- and 5-grams (with `<` `>`
  marking the word's ends), hashed into `buckets` rows. 5,600 training tweets see "rain",
  "raining", "rainy" and "#rainraingoaway" a few times each; as separate words each gets a few
  updates, as subwords they share "rain". Measured on the validation split, this is what moved
  the RNN from 0.974 to ~0.98 micro ROC-AUC (README, "How the defaults were chosen").
Then: spatial dropout -> a GRU or LSTM, optionally bidirectional (a tweet's weather word can sit
anywhere and the right context matters as much as the left) -> the final state (`pooling:
last`) or each unit's maximum over time (`pooling: max`, which keeps a word's signal however far
it is from the end) -> with `embedding_skip`, the maximum over words of the token embeddings
joins the recurrent features, so the output layer also sees directly which words occur (the
recurrent layer alone under-learns kinds with a handful of training tweets, e.g. hurricane)
-> dropout -> one Dense output layer (softmax or sigmoid, per the loss param).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from pipeline.models import text

# What TextVectorization's "lower_and_strip_punctuation" strips, so both token kinds see the
# same words: '#rain' and '@mention' become 'rain' and 'mention'.
PUNCTUATION = r"""[!"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~']"""


@keras.saving.register_keras_serializable(package="tweets")
class SubwordIds(layers.Layer):
    """Raw tweets (N, 1) -> hashed subword ids (N, sequence_length, n-grams per word); 0 pads.

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
        words = tf.strings.split(tweets)[:, : self.sequence_length]
        words = words.to_tensor(default_value="", shape=[None, self.sequence_length])
        marked = tf.strings.join(["<", words, ">"])
        grams = tf.strings.ngrams(tf.strings.unicode_split(marked, "UTF-8"), self.ngram_widths, separator="")
        whole = tf.RaggedTensor.from_tensor(marked[..., None], ragged_rank=2)
        ids = (tf.strings.to_hash_bucket_fast(tf.concat([whole, grams], axis=-1), self.buckets) + 1).to_tensor(0)
        return tf.where((words != "")[..., None], ids, tf.zeros_like(ids))

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], self.sequence_length, None), dtype="int64")

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
        vectors = ops.take(self.embeddings, ids, axis=0)
        present = ops.cast(ids > 0, vectors.dtype)[..., None]
        return ops.sum(vectors * present, axis=-2) / ops.maximum(ops.sum(present, axis=-2), 1.0)

    def compute_mask(self, ids, mask=None):
        return ops.any(ids > 0, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim}


def embed(inputs, train_texts, tokens: str, max_tokens: int, buckets: int, sequence_length: int, dim: int):
    if tokens == "subwords":
        ids = SubwordIds(sequence_length, buckets, name="subwords")(inputs)
        return SubwordEmbedding(buckets + 1, dim, name="embedding")(ids)
    vectorize = layers.TextVectorization(
        max_tokens=max_tokens,
        standardize="lower_and_strip_punctuation",
        output_sequence_length=sequence_length,
        name="tokens",
    )
    vectorize.adapt(train_texts)
    # mask_zero: the recurrent layer skips the padding.
    return layers.Embedding(vectorize.vocabulary_size(), dim, mask_zero=True, name="embedding")(vectorize(inputs))


def build(
    train_texts,
    loss: str,
    tokens: str = "subwords",
    max_tokens: int = 20000,
    buckets: int = 32768,
    sequence_length: int = 40,
    embedding_dim: int = 128,
    cell: str = "gru",
    units: int = 64,
    bidirectional: bool = True,
    pooling: str = "max",
    embedding_skip: bool = True,
    dropout: float = 0.3,
) -> keras.Model:
    inputs = text.string_input()
    embedded = embed(inputs, train_texts, tokens, max_tokens, buckets, sequence_length, embedding_dim)
    x = layers.SpatialDropout1D(dropout)(embedded) if dropout else embedded
    recurrent = {"gru": layers.GRU, "lstm": layers.LSTM}[cell](units, return_sequences=pooling == "max")
    x = layers.Bidirectional(recurrent)(x) if bidirectional else recurrent(x)
    if pooling == "max":
        # Padded steps output zeros (masked), which cannot hide a unit's positive maximum.
        x = layers.GlobalMaxPooling1D()(x)
    if embedding_skip:
        x = layers.Concatenate()([x, layers.GlobalMaxPooling1D(name="words_present")(embedded)])
    if dropout:
        x = layers.Dropout(dropout)(x)
    return keras.Model(inputs, text.output_layer(loss)(x), name="rnn")


ARCHITECTURE = (
    "tokens", "max_tokens", "buckets", "sequence_length", "embedding_dim", "cell", "units",
    "bidirectional", "pooling", "embedding_skip", "dropout",
)  # fmt: skip


def from_params(train_texts, p: dict) -> keras.Model:
    """The model a `train_rnn` params section describes (shared by the stage and bench/)."""
    return build(train_texts, p["loss"], **{k: p[k] for k in ARCHITECTURE})
