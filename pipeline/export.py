"""A trained model in forms that need neither this repository nor Keras: a TensorFlow SavedModel
in TF Serving's layout, and for the image models an ONNX file.

    data/exported/<model>/<version>/   the SavedModel (TF Serving, saved_model_cli, tf.saved_model.load)
    data/exported/<model>/model.onnx   images only (onnxruntime, no TensorFlow)

TF Serving reads the numbered folders of a model's folder and ignores the rest, so the ONNX file
can sit beside them. The serving signature takes what a user has, not what training used:

    images (ae, cnn, transfer): `images` uint8 (N, 28, 28), pixels 0..255 as Fashion-MNIST has them
    tweets (rnn, charcnn, ensemble): `tweets` string (N,), one raw tweet per row

and answers with named outputs: `probabilities` (N, 10) in the order of
pipeline.fashion.CLASSES; `scores` (N, 15) for the kinds k1..k15 (pipeline.tweets.KINDS names
them); the autoencoder's `reconstructions` (N, 28, 28) in [0, 1] and its `codes` (N, code size).
An empty batch or a wrong shape fails with TensorFlow's InvalidArgumentError (rather than an
empty or a wrong answer), a wrong dtype is refused by the signature itself.

Written with `tf.saved_model.save`, not Keras's `model.export`: in the pinned Keras, ExportArchive
lists the variables in a different order on every run and stores each twice, so the same
model gave different bytes at twice the size (docs/models.md, "Exported models").
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import keras
import tensorflow as tf
from tensorflow.core.protobuf import fingerprint_pb2
from tensorflow.saved_model.experimental import TrackableResource

from pipeline import errors, files, training

EXPORTED = Path("data/exported")
SIGNATURE = "serving_default"
ONNX_FILE = "model.onnx"


def folder(name: str) -> Path:
    """The model's folder, TF Serving's model base path: numbered versions (and model.onnx) inside."""
    return EXPORTED / name


def serving_function(model: keras.Model) -> tf.types.experimental.PolymorphicFunction:
    """The serving signature of `model` (see the module docstring), as a traced tf.function."""
    kind = training.kind(model)
    if kind == "tweets":

        @tf.function(input_signature=[tf.TensorSpec((None,), tf.string, name="tweets")])
        def serve(tweets):
            tweets = checked(tweets, (), "tweets: a 1-D batch of strings, at least one")
            return {"scores": model(tf.reshape(tweets, (-1, 1)), training=False)}

        return serve

    net = model if kind == "classifier" else with_code(model)

    @tf.function(input_signature=[tf.TensorSpec((None, 28, 28), tf.uint8, name="images")])
    def serve(images):
        images = checked(images, (28, 28), "images: uint8 of shape (N, 28, 28), N at least 1")
        out = net(tf.cast(images, tf.float32), training=False)
        if kind == "classifier":
            return {"probabilities": tf.cast(out, tf.float32)}
        return {"reconstructions": tf.cast(out[0], tf.float32), "codes": tf.cast(out[1], tf.float32)}

    return serve


def with_code(autoencoder: keras.Model) -> keras.Model:
    """The autoencoder answering with its code as well (its layer "code"): the compact summary
    of an image a user wants."""
    return keras.Model(autoencoder.inputs, [autoencoder.output, autoencoder.get_layer("code").output])


def checked(batch, item_shape: tuple[int, ...], expected: str):
    """`batch`, failing with TensorFlow's InvalidArgumentError when it is empty or its items have
    another shape: a signature called directly checks the dtype alone, the shape only where an op
    happens to need it, and an empty batch would get an empty answer."""
    batch = tf.ensure_shape(batch, (None, *item_shape))
    tf.debugging.assert_positive(tf.shape(batch)[0], message=f"an empty batch; expected {expected}")
    return batch


def saved_model(model: keras.Model, path: Path) -> None:
    """`model` as a SavedModel at `path` (a new folder) with the serving signature alone: no
    optimiser state, no training functions, each weight stored once. The same model gives the
    same bytes."""
    serve = serving_function(model)
    module = tf.Module()
    # What the function reads, reachable from the root in a fixed order: the TensorFlow variables
    # behind the Keras ones (the random layers' seed state included; as Keras variables they
    # would be stored twice, and TF1 loaders such as `saved_model_cli run` would not find them)
    # and the vocabularies' lookup tables.
    module.weights = [v.value for v in model.variables]
    module.tables = [t for t in tf.train.TrackableView(model).descendants() if isinstance(t, TrackableResource)]
    module.serve = serve
    tf.saved_model.save(module, str(path), signatures={SIGNATURE: serve.get_concrete_function()})
    _stable_fingerprint(path / "fingerprint.pb")


def _stable_fingerprint(path: Path) -> None:
    """TensorFlow stamps a random uuid into fingerprint.pb on each save; derive it from the
    fingerprint's own hashes of the graph and the weights, so it still names this model alone."""
    fingerprint = fingerprint_pb2.FingerprintDef.FromString(path.read_bytes())
    fingerprint.ClearField("uuid")
    digest = hashlib.sha256(fingerprint.SerializeToString(deterministic=True)).digest()
    fingerprint.uuid = str(int.from_bytes(digest[:16], "big"))
    path.write_bytes(fingerprint.SerializeToString(deterministic=True))


def onnx(model: keras.Model, path: Path, opset: int) -> None:
    """An image model as ONNX at `path`, the same signature as its SavedModel, converted in this
    process by tf2onnx (the converter Keras's own ONNX export uses) from a float32 copy: tf2onnx
    1.17 cannot convert a bfloat16 graph (it binds one Mul to float16 and bfloat16), and
    onnxruntime has no bfloat16 CPU kernels to run one.

    tf2onnx numbers the nodes it adds by walking sets of names, so the same model gives the same
    bytes only under a fixed hash seed: the process must start with PYTHONHASHSEED=0, as
    dvc.yaml's export command does (converting in a fresh process instead cost a second
    TensorFlow start, seconds per image model)."""
    if sys.flags.hash_randomization:
        raise errors.UserError(
            "ONNX export needs Python's hash seed fixed for byte-stable output: "
            "run it as `PYTHONHASHSEED=0 python -m stages.export NAME` (dvc.yaml's command does)"
        )
    import tf2onnx

    serve = serving_function(float32_copy(model))
    tf2onnx.convert.from_function(serve, input_signature=serve.input_signature, opset=opset, output_path=str(path))
    _stable_onnx(path)


def float32_copy(model: keras.Model) -> keras.Model:
    """`model` with every layer computing in float32, the same weights (mixed precision keeps
    them in float32 already)."""
    config = keras.saving.serialize_keras_object(model)
    float32 = _float32_policies(config)
    if float32 == config:
        return model
    copy = keras.saving.deserialize_keras_object(float32)
    copy.set_weights(model.get_weights())
    return copy


def _float32_policies(node):
    """A serialized Keras config with each dtype policy's name set to float32."""
    if isinstance(node, dict):
        if node.get("class_name") == "DTypePolicy":
            return {**node, "config": {**node["config"], "name": "float32"}}
        return {key: _float32_policies(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_float32_policies(item) for item in node]
    return node


def _stable_onnx(path: Path) -> None:
    """The same model, the same bytes: tf2onnx writes what it converted from (the traced
    function's name, numbered within the process) into the graph's doc string, names unknown
    sizes by a counter, and numbers and orders the graph's constants differently from run to run
    whatever the hash seed (its nodes, given one, it keeps in order). So: no doc string, the
    batch size named N, and each constant renamed after where it is first used, in that order."""
    import onnx as onnx_lib

    model = onnx_lib.load(str(path))
    graph = model.graph
    graph.doc_string = ""
    # Unknown sizes are numbered by a counter that depends on the run too: the batch is "N".
    symbols: dict[str, str] = {}
    for value in (*graph.input, *graph.output, *graph.value_info):
        for i, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.dim_param:
                dim.dim_param = symbols.setdefault(dim.dim_param, "N" if i == 0 else f"size_{len(symbols)}")
    constants = {c.name: c for c in graph.initializer}
    names: dict[str, str] = {}
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in constants:
                node.input[i] = names.setdefault(name, f"const_{len(names)}")
    for old, new in names.items():
        constants[old].name = new
    ordered = sorted((c for c in graph.initializer if c.name in names.values()), key=lambda c: int(c.name[6:]))
    if len(ordered) != len(graph.initializer):
        raise RuntimeError(f"{path}: a constant no node reads; tf2onnx's output changed, update _stable_onnx")
    copies = [type(c)() for c in ordered]
    for copy, c in zip(copies, ordered, strict=True):
        copy.CopyFrom(c)
    del graph.initializer[:]
    graph.initializer.extend(copies)
    onnx_lib.save(model, str(path))


def export(model: keras.Model, name: str, version: int, opset: int) -> Path:
    """Every form of `model` under data/exported/<name>/, replacing what was there."""
    target = folder(name)
    with files.replacing_dir(target) as tmp:
        if training.kind(model) != "tweets":  # first: it refuses to run without a fixed hash seed
            onnx(model, tmp / ONNX_FILE, opset)
        saved_model(model, tmp / str(version))
    return target


def latest_version(path: Path) -> Path:
    """The SavedModel a path names: itself, or a model folder's highest numbered version (as TF
    Serving picks it)."""
    if (path / "saved_model.pb").is_file():
        return path
    versions = sorted((int(p.name), p) for p in path.glob("*") if p.name.isdigit() and (p / "saved_model.pb").is_file())
    if not versions:
        raise FileNotFoundError(f"{path}: no SavedModel in it; run `dvc repro export@{path.name}` first")
    return versions[-1][1]


class Served:
    """An exported model's serving signature, read back with TensorFlow alone: `served(batch)`
    takes one numpy batch and gives its named outputs as numpy arrays."""

    def __init__(self, path: Path | str):
        self.path = latest_version(Path(path))
        # Kept as an attribute: a signature stops working once its loaded object is collected.
        self.loaded = tf.saved_model.load(str(self.path))
        signature = self.loaded.signatures[SIGNATURE]
        (self.input,) = signature.structured_input_signature[1]
        self.outputs = tuple(sorted(signature.structured_outputs))

    def takes(self) -> str:
        """ "images" or "tweets", as pipeline.predict names them, or "autoencoder"."""
        if self.input == "tweets":
            return "tweets"
        return "autoencoder" if "reconstructions" in self.outputs else "images"

    def __call__(self, batch) -> dict:
        out = self.loaded.signatures[SIGNATURE](**{self.input: tf.constant(batch)})
        return {key: value.numpy() for key, value in out.items()}
