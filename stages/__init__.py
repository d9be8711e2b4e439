"""The pipeline's stages, one script each, run by dvc.yaml as `python -m stages.<name>`.

A stage that runs TensorFlow says so by importing `stages.with_tensorflow` before anything else
(tests/test_stages.py checks that each stage does exactly when its imports reach TensorFlow)."""
