"""train_ensemble: the tweet models combined, from raw tweet strings to 15 kind scores.

A weighted mean of the trained members' kind scores, the weights chosen on the validation split
(pipeline.text_training.ensemble_weights). The members read tweets differently (the RNN words
and their subwords, the char CNN character n-grams), so they err on different tweets and their
mean is steadier than either. The saved model holds the members whole, so it takes raw strings
like them and needs nothing else to predict.
"""

from __future__ import annotations

import keras
from keras import layers

from pipeline.models import text


def build(*, members: dict[str, keras.Model], weights: dict[str, float]) -> keras.Model:
    inputs = text.string_input()
    weighted = [
        layers.Rescaling(weights[name], name=f"weight_{name}")(model(inputs))
        for name, model in sorted(members.items())
        if weights[name] > 0
    ]
    if not weighted:
        raise ValueError("every ensemble weight is 0; at least one member must count")
    outputs = layers.Add(name="kinds")(weighted) if len(weighted) > 1 else layers.Identity(name="kinds")(weighted[0])
    return keras.Model(inputs, outputs, name="ensemble")
