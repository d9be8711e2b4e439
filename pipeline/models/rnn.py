"""train_rnn: a recurrent network over word tokens, from raw tweet strings to 15 kind scores.

TextVectorization (lower-case, punctuation stripped, whitespace split; its vocabulary is
learned from the training tweets and saved inside the model) -> learned word embeddings
(index 0 is padding and masked, so the recurrent layer ignores it) -> a GRU or LSTM, optionally
bidirectional: a tweet's weather word can sit anywhere and the right context matters as much
as the left -> the final state (`pooling: last`), or the maximum of each unit over all
time steps (`pooling: max`), which keeps a word's signal even when it is far from the end
-> dropout -> one Dense output layer (softmax or sigmoid, per the loss param).
"""

from __future__ import annotations

import keras
from keras import layers

from pipeline.models import text


def build(
    train_texts,
    loss: str,
    max_tokens: int = 20000,
    sequence_length: int = 40,
    embedding_dim: int = 128,
    cell: str = "gru",
    units: int = 64,
    bidirectional: bool = True,
    dropout: float = 0.3,
    pooling: str = "max",
) -> keras.Model:
    vectorize = layers.TextVectorization(
        max_tokens=max_tokens,
        standardize="lower_and_strip_punctuation",
        output_sequence_length=sequence_length,
        name="tokens",
    )
    vectorize.adapt(train_texts)
    inputs = text.string_input()
    x = vectorize(inputs)
    x = layers.Embedding(vectorize.vocabulary_size(), embedding_dim, mask_zero=True)(x)
    if dropout:
        x = layers.SpatialDropout1D(dropout)(x)
    recurrent = {"gru": layers.GRU, "lstm": layers.LSTM}[cell](units, return_sequences=pooling == "max")
    x = layers.Bidirectional(recurrent)(x) if bidirectional else recurrent(x)
    if pooling == "max":
        # Padded steps output zeros (masked), which cannot hide a unit's positive maximum.
        x = layers.GlobalMaxPooling1D()(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return keras.Model(inputs, text.output_layer(loss)(x), name="rnn")
