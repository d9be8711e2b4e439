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
  the RNN from 0.974 to ~0.98 micro ROC-AUC (docs/tuning.md).
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
from keras import layers

from pipeline import params
from pipeline.models import text
from pipeline.models.layers import MaskedMaxPooling1D, SubwordEmbedding, SubwordIds


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
    *,
    loss: str,
    tokens: str,
    max_tokens: int,
    buckets: int,
    sequence_length: int,
    embedding_dim: int,
    cell: str,
    units: int,
    bidirectional: bool,
    pooling: str,
    embedding_skip: bool,
    dropout: float,
) -> keras.Model:
    inputs = text.string_input()
    embedded = embed(inputs, train_texts, tokens, max_tokens, buckets, sequence_length, embedding_dim)
    x = layers.SpatialDropout1D(dropout)(embedded) if dropout else embedded
    recurrent = {"gru": layers.GRU, "lstm": layers.LSTM}[cell](units, return_sequences=pooling == "max")
    x = layers.Bidirectional(recurrent)(x) if bidirectional else recurrent(x)
    if pooling == "max":
        x = MaskedMaxPooling1D(name="max_over_words")(x)
    if embedding_skip:
        x = layers.Concatenate()([x, MaskedMaxPooling1D(name="words_present")(embedded)])
    if dropout:
        x = layers.Dropout(dropout)(x)
    return keras.Model(inputs, text.output_layer(loss)(x), name="rnn")


def from_params(train_texts, p: dict) -> keras.Model:
    """The model a `train_rnn` params section describes (shared by the stage and bench/)."""
    return build(train_texts, **params.keywords(build, p))
