"""params.yaml's `train_transfer` (pipeline/models/transfer.py)."""

from pipeline.schema import BATCH, DECAY, EPOCHS, LEARNING_RATE, PATIENCE, Bool, Choice, Float, Int, Str

SCHEMA = {
    # A keras.applications class name, or "hub" to load `hub_handle` with tensorflow_hub.
    "backbone": Str(),
    "alpha": Float(0.0, 4.0, lo_open=True),
    "weights": Str(),
    "hub_handle": Str(),
    "preprocess": Choice(("tf", "torch", "caffe", "none")),
    "input_size": Int(32, 512),
    "pooling": Choice(("avg", "max", "grid2")),
    "flip_augment": Bool(),
    "epochs": EPOCHS,
    "batch_size": BATCH,
    "learning_rate": LEARNING_RATE,
    "l2": DECAY,
    "patience": PATIENCE,
}
