"""params.yaml's `train_ae` (pipeline/models/autoencoder.py)."""

from pipeline.schema import BATCH, EPOCHS, LEARNING_RATE, PATIENCE, Choice, Int, ListOf

SCHEMA = {
    "filters": ListOf(Int(1, 512), 1, 2),
    "code_size": Int(1, 128),
    "epochs": EPOCHS,
    "batch_size": BATCH,
    "optimizer": Choice(("adam", "muon")),  # pipeline.models.autoencoder.OPTIMIZERS
    "learning_rate": LEARNING_RATE,
    "patience": PATIENCE,
}
