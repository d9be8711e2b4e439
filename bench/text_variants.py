"""Validation scores of tweet-model variants that params.yaml does not offer, tried to close the
RNN's gap to the TF-IDF baseline (validation split only, never test):

    .venv/bin/python bench/text_variants.py ensemble rnn 3   # 3 RNNs trained side by side, averaged
    .venv/bin/python bench/text_variants.py ensemble charcnn 2
    .venv/bin/python bench/text_variants.py chargru          # chars -> Conv1D -> pool 3 -> BiGRU
    .venv/bin/python bench/text_variants.py trigrams         # BiGRU over character trigram tokens

Each prints validation micro/macro ROC-AUC and RMSE, as bench/text_choices.py does. These were
tried against the word-level RNN of session 2, and still compare with it: the ensemble's members
are `train_rnn` with `tokens: words` and no embedding skip, stopped on the validation loss.
"""

import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline import evaluation, params, text_training, training, tweets  # noqa: E402
from pipeline.models import charcnn, rnn, text  # noqa: E402

LOSS = "sigmoid"


def members(name: str, n: int, train_texts) -> list[keras.Model]:
    p = {**params.load(f"train_{name}"), "loss": LOSS}
    if name == "rnn":
        p.update(tokens="words", embedding_skip=False)
    found = []
    for i in range(n):
        m = {"rnn": rnn, "charcnn": charcnn}[name].from_params(train_texts, p)
        m.name = f"member{i}"
        found.append(m)
    return found


def chargru(train_texts) -> keras.Model:
    v = layers.TextVectorization(standardize="lower", split="character", output_sequence_length=160)
    v.adapt(train_texts)
    inputs = text.string_input()
    x = layers.Embedding(v.vocabulary_size(), 32)(v(inputs))
    x = layers.Conv1D(128, 5, padding="same", activation="relu")(x)
    x = layers.SpatialDropout1D(0.3)(layers.MaxPooling1D(3)(x))
    x = layers.GlobalMaxPooling1D()(layers.Bidirectional(layers.GRU(64, return_sequences=True))(x))
    return keras.Model(inputs, text.output_layer(LOSS)(layers.Dropout(0.3)(x)))


def trigrams(train_texts) -> keras.Model:
    v = layers.TextVectorization(max_tokens=20000, standardize="lower", split="character",
                                 ngrams=(3,), output_sequence_length=140)  # fmt: skip
    v.adapt(train_texts)
    inputs = text.string_input()
    x = layers.SpatialDropout1D(0.3)(layers.Embedding(v.vocabulary_size(), 64, mask_zero=True)(v(inputs)))
    x = layers.GlobalMaxPooling1D()(layers.Bidirectional(layers.GRU(64, return_sequences=True))(x))
    return keras.Model(inputs, text.output_layer(LOSS)(layers.Dropout(0.3)(x)))


def fit(model, train, val, n_outputs=1, learning_rate=0.003, patience=4):
    def ds(texts, k, seed=None):
        y = tweets.targets(k, LOSS)
        d = tf.data.Dataset.from_tensor_slices((text.as_strings(texts), tuple([y] * n_outputs)))
        return (d.shuffle(len(y), seed=seed) if seed is not None else d).batch(64)

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=[text_training.loss_fn(LOSS)] * n_outputs)
    model.fit(ds(*train, seed=42), validation_data=ds(*val), epochs=40, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)])  # fmt: skip


def report(label, val, scores, start):
    m = evaluation.text_metrics(val[1], scores, 0.5)
    print(f"{label}: val micro AUC {m['roc_auc_micro']:.4f} macro {m['roc_auc_macro']:.4f} "
          f"RMSE {m['rmse']:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip


def main() -> None:
    training.seed_everything(42)
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    start = time.perf_counter()
    if sys.argv[1] == "ensemble":
        name, n = sys.argv[2], int(sys.argv[3])
        p = params.load(f"train_{name}")
        nets = members(name, n, train[0])
        inputs = text.string_input()
        # Independent losses per member: averaging only at prediction, as separate runs would.
        fit(keras.Model(inputs, [m(inputs) for m in nets]), train, val, n, p["learning_rate"], p["patience"])
        scores = [text.predict(m, val[0]) for m in nets]
        for i, s in enumerate(scores):
            report(f"{name} member {i}", val, s, start)
        report(f"{name} x{n} averaged", val, np.mean(scores, axis=0), start)
    else:
        model = {"chargru": chargru, "trigrams": trigrams}[sys.argv[1]](train[0])
        fit(model, train, val)
        report(sys.argv[1], val, text.predict(model, val[0]), start)


if __name__ == "__main__":
    main()
