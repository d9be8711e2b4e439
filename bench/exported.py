"""The exported models (`dvc repro export`) against the .keras ones, on the test split: size on
disk, load time in a plain process (`python -I`: no project code), and the largest difference
between the export's outputs and the project's own predict path.

    .venv/bin/python -m bench.exported [MODEL ...]     (default: all six)
"""

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

from pipeline import hardware, outputs, quiet_start

quiet_start.tensorflow()  # before the modules below import TensorFlow

from pipeline import export, fashion, training, tweets  # noqa: E402

MODELS = ["ae", "cnn", "transfer", "rnn", "charcnn", "ensemble"]

# Loads and runs an export as a user would, with TensorFlow (SavedModel) or onnxruntime alone.
CLIENT = """
import importlib.util, sys, time
begin = time.perf_counter()
import numpy as np
assert importlib.util.find_spec("pipeline") is None
kind, path, inputs, out = sys.argv[1:]
if kind == "onnx":
    import onnxruntime as ort
    start = time.perf_counter()
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    seconds = time.perf_counter() - start
    names = [o.name for o in session.get_outputs()]
    x = np.load(inputs)
    outputs = dict(zip(names, session.run(None, {"images": x})))
else:
    import tensorflow as tf
    start = time.perf_counter()
    serve = tf.saved_model.load(path).signatures["serving_default"]
    seconds = time.perf_counter() - start
    (name,) = serve.structured_input_signature[1]
    x = np.load(inputs)
    outputs = {k: v.numpy() for k, v in serve(**{name: tf.constant(x)}).items()}
np.savez(out, **outputs)
print(start - begin, seconds)
"""


def plain(kind: str, path: Path, inputs: Path, out: Path) -> tuple[float, float]:
    """(seconds to import the runtime, seconds to load the model) in a plain process."""
    done = subprocess.run(
        [sys.executable, "-I", "-c", textwrap.dedent(CLIENT), kind, str(path), str(inputs), str(out)],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{path}: the plain client failed: {done.stderr.strip().splitlines()[-1]}")
    imported, loaded = done.stdout.strip().splitlines()[-1].split()
    return float(imported), float(loaded)


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def project_outputs(name: str, inputs) -> dict:
    model = training.load(outputs.model_path(name))
    kind = training.kind(model)
    if kind == "tweets":
        from pipeline.models import text

        return {"scores": text.predict(model, inputs)}
    if kind == "classifier":
        return {"probabilities": model.predict(inputs, batch_size=512, verbose=0)}
    recon, codes = export.with_code(model).predict(inputs, batch_size=512, verbose=0)
    return {"reconstructions": recon, "codes": codes}


def main(names: list[str]) -> None:
    hardware.start("bench.exported")  # its first line names the CPU
    work = Path(tempfile.mkdtemp(prefix="exported_"))
    x_test, _ = fashion.load("test")
    texts, _ = tweets.load_prepared("test")
    np.save(work / "images.npy", x_test)
    np.save(work / "tweets.npy", np.asarray(texts, dtype=str))
    print("| model | form | size | import s | load s | max abs diff vs .keras | same class as .keras | test examples |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        takes_text = name in ("rnn", "charcnn", "ensemble")
        inputs = work / ("tweets.npy" if takes_text else "images.npy")
        expected = project_outputs(name, texts if takes_text else x_test)
        keras_size = size(outputs.model_path(name))
        print(f"| {name} | .keras | {keras_size / 1e6:.2f} MB | | | | | |")
        forms = [("savedmodel", export.latest_version(export.folder(name)))]
        if not takes_text:
            forms.append(("onnx", export.folder(name) / export.ONNX_FILE))
        for form, path in forms:
            imported, loaded = plain(form, path, inputs, work / "out.npz")
            got = dict(np.load(work / "out.npz"))
            diff = max(float(np.max(np.abs(got[k] - v))) for k, v in expected.items())
            same = ""
            if "probabilities" in expected:
                same = f"{np.mean(got['probabilities'].argmax(1) == expected['probabilities'].argmax(1)):.4f}"
            row = [name, form, f"{size(path) / 1e6:.2f} MB", f"{imported:.2f}", f"{loaded:.2f}", f"{diff:.1e}", same]
            row.append(f"{len(np.load(inputs)):,}")
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or MODELS)
