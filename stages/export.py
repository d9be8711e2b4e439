"""export <model>: data/models/<model>.keras -> data/exported/<model>/, the forms a user serves
without this repository (pipeline.export): a SavedModel at <export.version>/, and model.onnx
for the image models."""

import stages.with_tensorflow  # noqa: F401  (first: TensorFlow starts quietly)

# isort: split

import sys

from pipeline import errors, export, hardware, outputs, params, training


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise errors.UserError("usage: python -m stages.export MODEL (a name in data/models/, e.g. cnn)")
    p = params.load("export")
    hardware.start(f"export {argv[0]}")
    # The exported graph is traced from the loaded model: seeded, so that its random layers'
    # state (unused when serving, but saved) is the same bytes on every run.
    training.seed_everything(p["seed"])
    model = training.load(outputs.model_path(argv[0]))
    path = export.export(model, argv[0], p["version"], p["onnx_opset"])
    print(f"export {argv[0]}: {path}", file=sys.stderr)


if __name__ == "__main__":
    errors.run_stage("export", lambda: main(sys.argv[1:]))
