"""params.yaml's `export` (stages/export.py)."""

from pipeline.schema import Int

SCHEMA = {
    "version": Int(1, 2**31 - 1),  # TF Serving's version folder
    "onnx_opset": Int(13, 21),  # what onnxruntime and tf2onnx both support
}
