"""The pipeline's stages, one script each, run by dvc.yaml as `python -m stages.<name>`."""

import sys

from pipeline import runtime

# These stages never touch Keras: they must not pay TensorFlow's import (seconds, ~0.5 GiB).
WITHOUT_TENSORFLOW = {"stages.download", "stages.preprocess", "stages.baseline_text", "stages.summarize"}

# Runs before any stage module imports keras: TensorFlow's start-up notices are filtered here.
if not WITHOUT_TENSORFLOW & set(sys.orig_argv):
    runtime.quiet_tensorflow()
