"""export <model>: data/models/<model>.keras -> data/exported/<model>/, the forms a user serves
without this repository (pipeline.export): a SavedModel at <export.version>/, and model.onnx
for the image models."""

import sys

from pipeline import export, params, runtime, training


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise runtime.UserError("usage: python -m stages.export MODEL (a name in data/models/, e.g. cnn)")
    p = params.load("export")
    runtime.start(f"export {argv[0]}")
    # The exported graph is traced from the loaded model: seeded, so that its random layers'
    # state (unused when serving, but saved) is the same bytes on every run.
    training.seed_everything(p["seed"])
    model = training.load(training.model_path(argv[0]))
    path = export.export(model, argv[0], p["version"], p["onnx_opset"])
    print(f"export {argv[0]}: {path}", file=sys.stderr)


if __name__ == "__main__":
    runtime.main("export", lambda: main(sys.argv[1:]))
