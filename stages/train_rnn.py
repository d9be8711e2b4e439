"""train_rnn: data/prepared/tweets -> data/models/rnn.keras (and its validation scores before the
refit, for train_ensemble), curves in metrics/train/rnn/."""

from pipeline import runtime, text_training
from pipeline.models import rnn

if __name__ == "__main__":
    runtime.main("train_rnn", lambda: text_training.train("rnn", rnn.from_params))
