"""train_transfer: a frozen ImageNet-pretrained backbone and one trainable Dense layer.

The 28x28 grey image is resized, repeated into three channels and scaled the way the
backbone was trained. The backbone is either a `keras.applications` class loading a weights
file (never fetched by Keras at run time) or a TF-Hub image feature vector (a handle or a
SavedModel path) loaded with `tensorflow_hub.load` and wrapped in a Keras 3 layer, since
hub.KerasLayer belongs to Keras 2. Every backbone weight is frozen: only the final Dense layer
learns, so the features are computed once and the Dense layer is trained on them.
"""

from __future__ import annotations

import inspect

import keras
from keras import layers

from pipeline import training
from pipeline.models.layers import HubFeatures

# Per-channel statistics that keras.applications' preprocess_input uses for each mode.
TORCH_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
TORCH_VAR = [(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2]
CAFFE_MEAN = [103.939, 116.779, 123.68]  # BGR; the channel order is moot for grey images


def _scale(x, mode: str):
    if mode == "tf":
        return layers.Rescaling(1 / 127.5, offset=-1.0)(x)
    if mode == "torch":
        return layers.Normalization(mean=TORCH_MEAN, variance=TORCH_VAR)(x)
    if mode == "caffe":
        return layers.Normalization(mean=CAFFE_MEAN, variance=[1.0, 1.0, 1.0])(x)
    return x


def _application(name: str, weights: str, size: int, alpha: float) -> keras.Model:
    cls = getattr(keras.applications, name, None)
    if cls is None or not callable(cls):
        raise ValueError(
            f"train_transfer.backbone: {name!r} is not a keras.applications model "
            "(e.g. MobileNet, MobileNetV2, ResNet50, EfficientNetB0) nor 'hub'"
        )
    kwargs = {"include_top": False, "weights": weights, "input_shape": (size, size, 3)}
    if "alpha" in inspect.signature(cls).parameters:
        kwargs["alpha"] = alpha
    return cls(**kwargs)


def build_features(
    *,
    backbone: str,
    weights: str,
    hub_handle: str,
    preprocess: str,
    input_size: int,
    alpha: float,
    pooling: str,
) -> keras.Model:
    """The frozen part: 28x28 images (0..255) -> a feature vector."""
    inputs = keras.Input((28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(inputs)
    x = layers.Resizing(input_size, input_size, interpolation="bilinear")(x)
    x = layers.Concatenate()([x, x, x])
    if backbone == "hub":
        if not hub_handle:
            raise ValueError("train_transfer.hub_handle: set it to a TF-Hub handle or SavedModel path")
        # TF-Hub's image feature vector convention: float RGB in [0, 1], pooled features out.
        features = HubFeatures(hub_handle, name="backbone")(layers.Rescaling(1 / 255)(x))
    else:
        net = _application(backbone, weights, input_size, alpha)
        net.trainable = False
        fmap = net(_scale(x, preprocess), training=False)
        if pooling == "avg":
            features = layers.GlobalAveragePooling2D()(fmap)
        elif pooling == "max":
            features = layers.GlobalMaxPooling2D()(fmap)
        else:
            # grid2: average over each quarter of the feature map, keeping where a feature is.
            side = fmap.shape[1]
            if side < 2:
                raise ValueError("train_transfer.pooling=grid2 needs a feature map of 2x2 or more")
            features = layers.Flatten()(layers.AveragePooling2D(side // 2)(fmap))
    model = keras.Model(inputs, features, name="features")
    model.trainable = False
    return model


def build_head(n_features: int, *, l2: float) -> keras.Model:
    """The only trained part: one Dense softmax layer over the backbone's features."""
    return keras.Sequential(
        [
            keras.Input((n_features,)),
            layers.Dense(
                10,
                activation="softmax",
                kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
                name="classifier",
            ),
        ],
        name="head",
    )


def combine(features: keras.Model, head: keras.Model) -> keras.Model:
    """One model from images to class probabilities, for evaluation and prediction."""
    inputs = keras.Input((28, 28), name="image")
    return keras.Model(inputs, head(features(inputs)), name="transfer")


FEATURES = ("backbone", "weights", "hub_handle", "preprocess", "input_size", "alpha", "pooling")


def features_from_params(p: dict) -> keras.Model:
    """The frozen feature extractor a `train_transfer` params section describes."""
    return build_features(**{key: p[key] for key in FEATURES})


def head_from_params(p: dict, n_features: int) -> keras.Model:
    """The compiled Dense head a `train_transfer` params section describes."""
    head = build_head(n_features, l2=p["l2"])
    head.compile(
        optimizer=keras.optimizers.Adam(p["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=training.steps_per_execution(),
    )
    return head
