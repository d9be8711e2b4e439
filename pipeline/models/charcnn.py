"""train_charcnn: a character-level 1D CNN, from raw tweet strings to 15 kind scores.

TextVectorization splits the lower-cased tweet into characters (its character vocabulary is
learned from the training tweets and saved inside the model), each batch padded to its own
longest tweet and cut at `sequence_length` (CharacterIds: a batch costs the characters it
holds, not `sequence_length` of them) -> learned character embeddings -> for each width in
`kernel_sizes`, a Conv1D with `filters` filters and max pooling over the windows inside each
tweet (Kim 2014; WindowMaxPooling1D keeps the padding out): each filter learns a character
n-gram such as "rain", "snow" or "#sun", and max-over-time asks only whether it occurs,
wherever it is -> concatenation -> dropout -> with `hidden_units`, a ReLU Dense layer
and dropout again (Zhang 2015's fully connected layers: combinations of n-grams, such as "wet"
with "weather", are features of their own; on the validation split it lowered the loss and
RMSE) -> one Dense output layer.
Characters rather than words: tweets misspell, stretch ("sooo hot") and hashtag their words,
and character n-grams still match them.
"""

from __future__ import annotations

import keras
from keras import layers

from pipeline import params
from pipeline.models import text
from pipeline.models.layers import CharacterIds, WindowMaxPooling1D


def build(
    train_texts,
    *,
    loss: str,
    sequence_length: int,
    embedding_dim: int,
    kernel_sizes: list[int],
    filters: int,
    hidden_units: int,
    dropout: float,
) -> keras.Model:
    vectorize = layers.TextVectorization(standardize="lower", split="character")
    vectorize.adapt(train_texts)
    inputs = text.string_input()
    ids = CharacterIds(vectorize, sequence_length, max(kernel_sizes), name="characters")(inputs)
    x = layers.Embedding(vectorize.vocabulary_size(), embedding_dim)(ids)
    pooled = [WindowMaxPooling1D(k)([layers.Conv1D(filters, k, activation="relu")(x), ids]) for k in kernel_sizes]
    x = layers.Concatenate()(pooled) if len(pooled) > 1 else pooled[0]
    if dropout:
        x = layers.Dropout(dropout)(x)
    if hidden_units:
        x = layers.Dense(hidden_units, activation="relu")(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    return keras.Model(inputs, text.output_layer(loss)(x), name="charcnn")


def from_params(train_texts, p: dict) -> keras.Model:
    """The model a `train_charcnn` params section describes (shared by the stage and bench/)."""
    return build(train_texts, **params.keywords(build, p))
