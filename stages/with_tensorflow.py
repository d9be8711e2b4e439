"""Imported first by every stage that runs TensorFlow, before any module imports keras: TensorFlow
then starts with its start-up notices kept out of the stage's stderr (pipeline.quiet_start).
Stages that never touch Keras do not import it and do not pay TensorFlow's import (seconds,
about 0.5 GiB)."""

from pipeline import quiet_start

quiet_start.tensorflow()
