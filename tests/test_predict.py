import gzip

import numpy as np
import pandas as pd
import pytest

from pipeline import predict, training, tweets
from pipeline.models import cnn, rnn
from tests.conftest import idx_bytes
from tests.tiny import architecture, section


@pytest.fixture(scope="module")
def cnn_path(tmp_path_factory):
    training.seed_everything(0)
    model = cnn.build(**architecture("train_cnn", cnn.build, filters=[4], convs_per_block=[1], dense_units=8))
    path = tmp_path_factory.mktemp("m") / "cnn.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def rnn_path(tmp_path_factory):
    training.seed_everything(0)
    texts = np.array(["rain today", "snow now"], dtype=object)
    model = rnn.from_params(texts, section("train_rnn", sequence_length=8, embedding_dim=4, units=4))
    path = tmp_path_factory.mktemp("m") / "rnn.keras"
    model.save(path)
    return path


def test_images_from_idx_and_npy(tmp_path, cnn_path, images):
    x, _ = images
    (tmp_path / "x.idx.gz").write_bytes(gzip.compress(idx_bytes(x[:5])))
    np.save(tmp_path / "x.npy", x[:5])
    for name in ("x.idx.gz", "x.npy"):
        assert predict.main(["images", str(cnn_path), str(tmp_path / name), str(tmp_path / "out.csv")]) == 0
        out = pd.read_csv(tmp_path / "out.csv")
        assert len(out) == 5 and list(out.columns[:3]) == ["index", "class", "class_name"]
        probs = out.filter(like="p_").to_numpy()
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
        assert (out["class"] == probs.argmax(axis=1)).all()


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((3, 28, 28), np.float32), "images must be uint8 (0..255), got float32"),
        (np.zeros((3, 32, 32), np.uint8), "images must have shape (N, 28, 28), got (3, 32, 32)"),
        (np.zeros((28, 28), np.uint8), "got (28, 28)"),
    ],
)
def test_bad_images(tmp_path, cnn_path, capsys, array, message):
    np.save(tmp_path / "x.npy", array)
    assert predict.main(["images", str(cnn_path), str(tmp_path / "x.npy"), str(tmp_path / "o.csv")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_corrupt_idx(tmp_path, cnn_path, capsys):
    (tmp_path / "x.idx").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 5)
    assert predict.main(["images", str(cnn_path), str(tmp_path / "x.idx"), str(tmp_path / "o.csv")]) == 2
    assert "truncated IDX header" in capsys.readouterr().err


def test_tweets(tmp_path, rnn_path, tweets_df):
    tweets_df.to_csv(tmp_path / "t.csv", index=False)
    assert predict.main(["tweets", str(rnn_path), str(tmp_path / "t.csv"), str(tmp_path / "o.csv")]) == 0
    out = pd.read_csv(tmp_path / "o.csv")
    assert list(out.columns) == ["id", *tweets.KINDS] and len(out) == len(tweets_df)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "the file is empty"),
        ("id,text\n1,rain\n", "no `tweet` column (columns: id, text)"),
        ("id,tweet\n", "has a header but no rows"),
    ],
)
def test_bad_tweet_files(tmp_path, rnn_path, capsys, content, message):
    (tmp_path / "t.csv").write_text(content)
    assert predict.main(["tweets", str(rnn_path), str(tmp_path / "t.csv"), str(tmp_path / "o.csv")]) == 2
    assert message in capsys.readouterr().err


def test_non_text_tweets(rnn_path):
    df = pd.DataFrame({"tweet": ["rain", 4.5]}, dtype=object)
    with pytest.raises(predict.InputError, match="tweet 1 is float, not text"):
        predict.predict_tweets(predict.open_model(rnn_path)[1], df)


def test_model_kind_mismatch(tmp_path, rnn_path, images, capsys):
    np.save(tmp_path / "x.npy", images[0][:2])
    assert predict.main(["images", str(rnn_path), str(tmp_path / "x.npy"), str(tmp_path / "o.csv")]) == 2
    assert "takes tweets: run `python -m pipeline.predict tweets" in capsys.readouterr().err
