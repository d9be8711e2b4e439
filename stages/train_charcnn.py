"""train_charcnn: data/prepared/tweets -> data/models/charcnn.keras (and its validation scores
before the refit, for train_ensemble), curves in metrics/train/charcnn/."""

from pipeline import runtime, text_training
from pipeline.models import charcnn

if __name__ == "__main__":
    runtime.main("train_charcnn", lambda: text_training.train("charcnn", charcnn.from_params))
