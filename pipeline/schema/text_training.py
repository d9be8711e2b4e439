"""The keys train_rnn and train_charcnn share (pipeline/text_training.py fits either model), and
their rules; not a section of its own. Kept out of pipeline/schema/__init__.py, which every
stage loads, so that an edit here reruns the tweet models' stages alone."""

from pipeline.schema import BATCH, DROPOUT, EPOCHS, LEARNING_RATE, PATIENCE, Bool, Choice, Float, Int

TEXT_TRAINING = {
    "loss": Choice(("softmax", "sigmoid")),
    "dropout": DROPOUT,
    "epochs": EPOCHS,
    "batch_size": BATCH,
    "length_sorted_batches": Int(0, 1000),
    "learning_rate": LEARNING_RATE,
    "patience": PATIENCE,
    "monitor": Choice(("val_loss", "val_auc_micro")),  # pipeline.text_training.MONITOR_MODE
    "schedule": Choice(("plateau", "one_cycle")),  # pipeline.text_training.learning_rate
    "lr_patience": PATIENCE,
    "warmup": Float(0.0, 0.9),
    "optimizer": Choice(("adam", "lazy_adam")),  # pipeline.text_training.OPTIMIZERS
    "positive_weight_power": Float(0.0, 2.0),  # pipeline.text_training.PositiveWeightedBCE
    "refit": Bool(),
    "average_fits": Bool(),  # pipeline.text_training.fit_and_refit
}
# Their (key, other, value) rules: see pipeline.params.validate_section.
TEXT_USED_ONLY_WITH = [
    ("lr_patience", "schedule", "plateau"),
    ("warmup", "schedule", "one_cycle"),
    ("positive_weight_power", "loss", "sigmoid"),
    ("average_fits", "refit", True),
]
