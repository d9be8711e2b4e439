"""Property-based tests (hypothesis) of every reader of outside input and of the predict
command: whatever the bytes, the result is a correct value or the reader's own error (which the
stages and predict turn into one line and exit code 2), never another exception, never a hang,
and never an allocation sized by what a header declares rather than by the file."""

import gzip
import struct

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipeline import idx, predict, training, tweets
from pipeline.models import cnn, rnn
from tests.conftest import idx_bytes, make_tweets
from tests.tiny import architecture, section

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# predict loads a Keras model per call: fewer, slower examples.
FUZZ_PREDICT = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def idx_header(code: int, dims: tuple[int, ...]) -> bytes:
    return struct.pack(">HBB", 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_are_an_idx_array_or_an_idx_error(data):
    try:
        array = idx.parse(data)
    except idx.IdxError:
        return
    assert array.nbytes == len(data) - 4 - 4 * array.ndim


@FUZZ
@given(
    code=st.sampled_from(sorted(idx.DTYPES)),
    dims=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4),
    body=st.binary(max_size=256),
)
def test_huge_declared_dimensions_with_a_tiny_file_are_refused_without_allocating(code, dims, body):
    data = idx_header(code, tuple(dims)) + body
    expected = int(np.prod(dims, dtype=object)) * np.dtype(idx.DTYPES[code]).itemsize
    if 0 in dims:
        with pytest.raises(idx.IdxError, match="declares an empty array"):
            idx.parse(data)
    elif expected == len(body):
        assert idx.parse(data).nbytes == len(body)
    else:
        with pytest.raises(idx.IdxError, match="header says"):
            idx.parse(data)


def test_dimensions_whose_int64_product_wraps_to_zero_are_refused():
    with pytest.raises(idx.IdxError, match="header says"):
        idx.parse(idx_header(0x08, (65536, 65536, 65536, 65536)))


@FUZZ
@given(cut=st.integers(0, 10_000), flip=st.booleans())
def test_truncated_or_corrupted_gzip_idx_is_an_idx_error(cut, flip, tmp_path_factory):
    raw = gzip.compress(idx_bytes(np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28) % 251))
    data = bytearray(raw[: cut % len(raw)])
    if flip and len(data) > 20:
        data[len(data) // 2] ^= 0xFF
    path = tmp_path_factory.mktemp("idx") / "x.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(data[2:]) if len(data) >= 2 else bytes(data))
    try:
        array = idx.read(path)
    except idx.IdxError:
        return
    assert array.shape == (3, 28, 28)  # a flipped bit the gzip CRC did not see stays a valid array


CSV_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=600) | st.builds(
    lambda parts: ",".join(parts), st.lists(st.sampled_from(["id", "tweet", *tweets.KIND_COLUMNS, "x", "\n", '"']))
)


@FUZZ
@given(data=st.one_of(st.binary(max_size=600), CSV_TEXT.map(lambda t: t.encode("utf-8"))))
def test_any_tweets_file_is_rows_or_a_tweets_error(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "train.csv"
    path.write_bytes(data)
    try:
        df = tweets.read(path)
    except tweets.TweetsError:
        return
    clean, report = tweets.clean(df)
    assert len(clean) + sum(v for k, v in report.items() if k.startswith("dropped")) == len(df)


@FUZZ
@given(encodings=st.lists(st.sampled_from(["utf-8", "latin-1", "cp1252", "utf-16"]), min_size=1, max_size=3))
def test_tweets_in_mixed_encodings_are_rows_or_a_tweets_error(encodings, tmp_path_factory):
    frame = make_tweets(len(encodings) * 2)
    frame.loc[0, "tweet"] = "café naïve — ☔ rain"
    body = b"".join(
        frame.iloc[[i]].to_csv(index=False, header=i == 0).encode(enc, errors="replace")
        for i, enc in enumerate(encodings)
    )
    path = tmp_path_factory.mktemp("csv") / "mixed.csv"
    path.write_bytes(body)
    try:
        tweets.clean(tweets.read(path))
    except tweets.TweetsError as e:
        assert str(path) in str(e)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    training.seed_everything(0)
    where = tmp_path_factory.mktemp("models")
    image = cnn.build(**architecture("train_cnn", cnn.build, filters=[4], convs_per_block=[1], dense_units=8))
    image.save(where / "cnn.keras")
    texts = np.array(["rain today", "snow now"], dtype=object)
    rnn.from_params(texts, section("train_rnn", sequence_length=8, embedding_dim=4, units=4)).save(where / "rnn.keras")
    return where / "cnn.keras", where / "rnn.keras"


ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.uint8, np.int64, np.float32, np.float64, np.bool_]),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=30),
)


@FUZZ_PREDICT
@given(array=ARRAYS)
def test_predict_on_any_npy_array_writes_rows_or_exits_2_with_one_line(models, array, tmp_path_factory, capsys):
    where = tmp_path_factory.mktemp("npy")
    np.save(where / "x.npy", array)
    code = predict.main(["images", str(models[0]), str(where / "x.npy"), str(where / "out.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    if code == 0:
        assert array.dtype == np.uint8 and array.ndim == 3 and array.shape[1:] == (28, 28)
        assert len(pd.read_csv(where / "out.csv")) == len(array)
    else:
        assert code == 2 and len(err) == 1 and err[0].startswith("predict: ")


@FUZZ_PREDICT
@given(data=st.one_of(st.binary(max_size=400), CSV_TEXT.map(lambda t: t.encode("utf-8"))))
def test_predict_on_any_tweets_file_writes_rows_or_exits_2_with_one_line(models, data, tmp_path_factory, capsys):
    where = tmp_path_factory.mktemp("tweets")
    (where / "in.csv").write_bytes(data)
    code = predict.main(["tweets", str(models[1]), str(where / "in.csv"), str(where / "out.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code in (0, 2)
    if code == 2:
        assert len(err) == 1 and err[0].startswith("predict: ")


def test_predict_on_empty_and_one_megabyte_tweets(models, tmp_path):
    pd.DataFrame({"tweet": ["", "rain " * 200_000, "snow"]}).to_csv(tmp_path / "in.csv", index=False)
    assert predict.main(["tweets", str(models[1]), str(tmp_path / "in.csv"), str(tmp_path / "out.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "out.csv")) == 3
