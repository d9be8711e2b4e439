"""train_charcnn: data/prepared/tweets -> data/models/charcnn.keras, curves in metrics/train/charcnn/."""

from pipeline import params, training, tweets
from pipeline.models import charcnn, text


def main() -> None:
    p = params.load("train_charcnn")
    training.seed_everything(p["seed"])
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    model = charcnn.build(
        train[0], p["loss"], p["sequence_length"], p["embedding_dim"],
        p["kernel_sizes"], p["filters"], p["dropout"],
    )  # fmt: skip
    text.fit(model, "charcnn", p, train, val)
    training.save(model, "charcnn")


if __name__ == "__main__":
    main()
