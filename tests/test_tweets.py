import numpy as np
import pandas as pd
import pytest

from pipeline import tweets
from tests.conftest import SHARED_DATA


def write(tmp_path, df):
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    return path


def test_read_keeps_required_columns(tmp_path, tweets_df):
    df = tweets.read(write(tmp_path, tweets_df))
    assert list(df.columns) == tweets.REQUIRED and len(df) == len(tweets_df)


def test_missing_columns_are_named(tmp_path, tweets_df):
    with pytest.raises(tweets.TweetsError, match=r"missing columns \['tweet', 'k3'\]"):
        tweets.read(write(tmp_path, tweets_df.drop(columns=["tweet", "k3"])))


def test_slices_are_read_as_one_table_in_order(tmp_path, tweets_df):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    tweets_df.iloc[:25].to_csv(first, index=False)
    tweets_df.iloc[25:].to_csv(second, index=False)
    df = tweets.read_all([first, second])
    assert df["id"].tolist() == tweets_df["id"].tolist() and list(df.columns) == tweets.REQUIRED


def test_slices_that_share_an_id_are_an_error_naming_both_files(tmp_path, tweets_df):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    tweets_df.iloc[:25].to_csv(first, index=False)
    tweets_df.iloc[20:].to_csv(second, index=False)
    with pytest.raises(tweets.TweetsError, match=r"id 21 appears more than once in .*a\.csv and .*b\.csv \(5 repeated"):
        tweets.read_all([first, second])


def test_empty_and_malformed_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(tweets.TweetsError, match="the file is empty"):
        tweets.read(tmp_path / "empty.csv")
    (tmp_path / "bad.csv").write_text('id,tweet\n1,"unterminated\n2,x,y,z\n')
    with pytest.raises(tweets.TweetsError, match="malformed CSV"):
        tweets.read(tmp_path / "bad.csv")


def test_bad_row_policy_counts_what_it_drops(tmp_path, tweets_df):
    df = tweets_df.astype(str)
    df.loc[0, "tweet"] = "   "
    df.loc[1, "k3"] = "lots"
    df.loc[2, "k4"] = "1.5"
    df.loc[3, "k5"] = "-0.2"
    df.loc[4, [f"k{i}" for i in range(1, 16)]] = "0"
    df.loc[5, "tweet"] = "  padded  "
    clean, report = tweets.clean(tweets.read(write(tmp_path, df)))
    assert report == {
        "rows_read": 60,
        "dropped_missing_text": 1,
        "dropped_kind_not_a_number": 1,
        "dropped_kind_out_of_range": 2,
        "dropped_kind_sum_zero": 1,
        "fixed_whitespace": 1,
        "rows_kept": 55,
    }
    assert "padded" in clean["tweet"].tolist()
    assert clean[tweets.KIND_COLUMNS].dtypes.eq("float64").all()


def test_split_is_seeded_and_disjoint(tweets_df):
    clean, _ = tweets.clean(tweets_df.astype(str))
    a = tweets.split(clean, 0.2, 0.1, seed=1)
    b = tweets.split(clean, 0.2, 0.1, seed=1)
    c = tweets.split(clean, 0.2, 0.1, seed=2)
    assert [len(p) for p in a] == [42, 6, 12]
    assert all(x["id"].equals(y["id"]) for x, y in zip(a, b, strict=True))
    assert not a[2]["id"].equals(c[2]["id"])
    ids = [set(p["id"]) for p in a]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])


def test_split_too_small():
    df = pd.DataFrame({"id": ["1", "2"], "tweet": ["a", "b"]})
    with pytest.raises(tweets.TweetsError, match="cannot be split"):
        tweets.split(df, 0.2, 0.1, seed=0)


def test_soft_targets_keep_or_renormalise():
    k = np.zeros((2, 15), np.float32)
    k[0, [1, 9]] = [0.8, 1.0]  # two kinds, summing to 1.8
    k[1, 12] = 1.0
    sig = tweets.targets(k, "sigmoid")
    soft = tweets.targets(k, "softmax")
    assert np.array_equal(sig, k)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(soft[0, [1, 9]], [0.8 / 1.8, 1.0 / 1.8], rtol=1e-6)
    with pytest.raises(tweets.TweetsError, match="sum to 0"):
        tweets.softmax_targets(np.zeros((1, 15)))


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs the real data mirror ../shared/data")
def test_both_real_slices_read_as_13589_disjoint_tweets_with_the_published_counts():
    folder = SHARED_DATA / "weather-tweets"
    df = tweets.read_all([folder / "train_first8000.csv", folder / "train_rows10000-15588.csv"])
    clean, report = tweets.clean(df)
    assert report["rows_read"] == report["rows_kept"] == 13589
    ids = clean["id"].astype(int)
    assert ids.is_unique and ids.iloc[:8000].max() == 12382 and ids.iloc[8000:].min() == 15407
    second = tweets.labels(clean.iloc[8000:])
    # The mirror's README: rows with a kind at >= 0.5 in the second file, k1..k15.
    counts = [120, 581, 24, 645, 199, 13, 1556, 10, 171, 612, 207, 868, 751, 111, 305]
    assert (second >= 0.5).sum(axis=0).tolist() == counts


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs the real data mirror ../shared/data")
def test_real_file_matches_the_measured_quirks():
    clean, report = tweets.clean(tweets.read(SHARED_DATA / "weather-tweets" / "train_first8000.csv"))
    assert report["rows_read"] == report["rows_kept"] == 8000
    k = tweets.labels(clean)
    assert 0.25 < (k.sum(axis=1) > 1.0 + 1e-6).mean() < 0.35
    assert (k >= 0.5).sum(axis=0).tolist() == [
        168,
        779,
        27,
        882,
        284,
        12,
        2224,
        17,
        225,
        869,
        292,
        1271,
        1144,
        147,
        449,
    ]
