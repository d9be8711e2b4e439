"""params.yaml's `train_charcnn` (pipeline/models/charcnn.py, pipeline/text_training.py)."""

from pipeline.schema import Int, ListOf
from pipeline.schema.text_training import TEXT_TRAINING, TEXT_USED_ONLY_WITH

SCHEMA = {
    "sequence_length": Int(16, 2000),
    "embedding_dim": Int(4, 512),
    "kernel_sizes": ListOf(Int(1, 15), 1, 8),
    "filters": Int(4, 2048),
    "hidden_units": Int(0, 4096),
    **TEXT_TRAINING,
}
USED_ONLY_WITH = TEXT_USED_ONLY_WITH
