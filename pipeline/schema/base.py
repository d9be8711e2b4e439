"""params.yaml's `base`: merged into every section a stage loads."""

from pipeline.schema import Choice, Int

SCHEMA = {
    "seed": Int(0, 2**31 - 1),
    "distribute": Choice(("auto", "none", "mirrored")),  # pipeline.hardware.DISTRIBUTE
}
