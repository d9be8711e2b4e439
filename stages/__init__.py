"""The pipeline's stages, one script each, run by dvc.yaml as `python -m stages.<name>`."""

# Runs before any stage module imports keras: TensorFlow's start-up notices are filtered here.
from pipeline import runtime

runtime.quiet_tensorflow()
