"""params.yaml's `train_rnn` (pipeline/models/rnn.py, pipeline/text_training.py)."""

from pipeline.schema import Bool, Choice, Int
from pipeline.schema.text_training import TEXT_TRAINING, TEXT_USED_ONLY_WITH

SCHEMA = {
    "tokens": Choice(("words", "subwords")),
    "max_tokens": Int(100, 1_000_000),
    "buckets": Int(1024, 4_194_304),
    "sequence_length": Int(4, 1000),
    "embedding_dim": Int(4, 1024),
    "cell": Choice(("gru", "lstm")),
    "units": Int(4, 1024),
    "bidirectional": Bool(),
    "pooling": Choice(("last", "max")),
    "embedding_skip": Bool(),
    **TEXT_TRAINING,
}
USED_ONLY_WITH = TEXT_USED_ONLY_WITH
