"""train_charcnn: data/prepared/tweets -> data/models/charcnn.keras, curves in metrics/train/charcnn/."""

from pipeline import params, runtime, text_training, training, tweets
from pipeline.models import charcnn


def main() -> None:
    p = params.load("train_charcnn")
    runtime.start("train_charcnn")
    training.seed_everything(p["seed"])
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    model = charcnn.from_params(train[0], p)
    learning_rates = text_training.fit(model, "charcnn", p, train, val, params.load("evaluate")["roc_threshold"])
    if p["refit"]:
        model = text_training.refit(charcnn.from_params, p, train, val, learning_rates)
    training.save(model, "charcnn")


if __name__ == "__main__":
    runtime.main("train_charcnn", main)
