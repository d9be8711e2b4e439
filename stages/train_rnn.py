"""train_rnn: data/prepared/tweets -> data/models/rnn.keras, curves in metrics/train/rnn/."""

from pipeline import params, runtime, text_training, training, tweets
from pipeline.models import rnn


def main() -> None:
    p = params.load("train_rnn")
    runtime.start("train_rnn")
    training.seed_everything(p["seed"])
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    model = rnn.from_params(train[0], p)
    learning_rates = text_training.fit(model, "rnn", p, train, val, params.load("evaluate")["roc_threshold"])
    if p["refit"]:
        model = text_training.refit(rnn.from_params, p, train, val, learning_rates)
    training.save(model, "rnn")


if __name__ == "__main__":
    runtime.main("train_rnn", main)
