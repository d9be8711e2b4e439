"""params.yaml's `train_cnn` (pipeline/models/cnn.py)."""

from pipeline.schema import BATCH, DECAY, DROPOUT, EPOCHS, Bool, Choice, Float, Int, ListOf

SCHEMA = {
    "stem_filters": Int(0, 1024),  # 0 = no stem convolution
    "filters": ListOf(Int(1, 1024), 1, 3),
    "convs_per_block": ListOf(Int(1, 4), 1, 3),  # one entry per entry of filters
    "pool_first": Bool(),
    "kernel_size": Int(1, 7),
    "activation": Choice(("relu", "gelu")),
    "batch_norm": Bool(),
    "head": Choice(("flatten", "max")),
    "dense_units": Int(0, 4096),
    "dropout": DROPOUT,
    "logit_scale": Float(0.0, 10.0, lo_open=True),
    "augment": {
        "flip": Bool(),
        "translate": Float(0.0, 0.3),
        "zoom": Float(0.0, 0.3),
        "erase": Float(0.0, 1.0),
    },
    "test_time_flip": Bool(),
    "precision": Choice(("auto", "float32", "mixed_bfloat16")),  # pipeline.hardware.PRECISIONS
    "optimizer": Choice(("sgd", "adamw", "muon")),
    "epochs": EPOCHS,
    "batch_size": BATCH,
    "learning_rate": Float(0.0, 10.0, lo_open=True),
    "muon_learning_rate": Float(0.0, 10.0, lo_open=True),
    "warmup": Float(0.0, 0.9),
    "weight_decay": DECAY,
    "label_smoothing": Float(0.0, 0.5),
    "with_val": Bool(),
}
PAIRED = [("convs_per_block", "filters", "block")]
