import gzip

import numpy as np
import pytest

from pipeline import idx
from tests.conftest import SHARED_DATA, idx_bytes


def test_roundtrip_plain_and_gzipped(tmp_path, images):
    x, _ = images
    (tmp_path / "a.idx").write_bytes(idx_bytes(x))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(idx_bytes(x)))
    for name in ("a.idx", "a.idx.gz"):
        got = idx.read(tmp_path / name)
        assert got.dtype == np.uint8 and np.array_equal(got, x)


def test_bad_magic_number():
    data = bytearray(idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    data[0] = 0x1F
    with pytest.raises(idx.IdxError, match="bad IDX magic number"):
        idx.parse(bytes(data))


def test_unknown_type_byte():
    data = bytearray(idx_bytes(np.zeros((2, 3), np.uint8)))
    data[2] = 0x07
    with pytest.raises(idx.IdxError, match="bad IDX magic number"):
        idx.parse(bytes(data))


def test_truncated_data_is_reported_with_sizes():
    data = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(idx.IdxError, match=r"header says \(3, 28, 28\) \(2352 bytes of data\) but the file has 2000"):
        idx.parse(data[: 16 + 2000])


def test_an_empty_array_is_refused_whatever_its_other_dimensions():
    for dims in ((0, 28, 28), (0, 1090, 91981337, 91994849)):  # the second: hypothesis found it
        with pytest.raises(idx.IdxError, match=r"declares an empty array .*; the file is corrupt"):
            idx.parse(
                idx_bytes(np.zeros((1,), np.uint8))[:3]
                + bytes([len(dims)])
                + b"".join(d.to_bytes(4, "big") for d in dims)
            )


def test_truncated_header():
    with pytest.raises(idx.IdxError, match="too short"):
        idx.parse(b"\x00\x00")
    with pytest.raises(idx.IdxError, match="truncated IDX header"):
        idx.parse(b"\x00\x00\x08\x03\x00\x00")


def test_truncated_gzip(tmp_path, images):
    blob = gzip.compress(idx_bytes(images[0]))
    (tmp_path / "t.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(idx.IdxError, match="corrupt or truncated gzip"):
        idx.read(tmp_path / "t.gz")


def test_images_and_labels_must_agree(tmp_path, images):
    x, y = images
    (tmp_path / "x").write_bytes(idx_bytes(x))
    (tmp_path / "y").write_bytes(idx_bytes(y[:-1]))
    with pytest.raises(idx.IdxError, match="has 40 images but .* has 39 labels"):
        idx.read_images_labels(tmp_path / "x", tmp_path / "y")
    (tmp_path / "y").write_bytes(idx_bytes(np.full(40, 10, np.uint8)))
    with pytest.raises(idx.IdxError, match="label 10 is outside 0..9"):
        idx.read_images_labels(tmp_path / "x", tmp_path / "y")
    (tmp_path / "x").write_bytes(idx_bytes(np.zeros((40, 20, 20), np.uint8)))
    with pytest.raises(idx.IdxError, match="expected uint8 images of 28x28"):
        idx.read_images_labels(tmp_path / "x", tmp_path / "y")


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs the real data mirror ../shared/data")
def test_real_fashion_mnist_test_split():
    d = SHARED_DATA / "fashion-mnist"
    x, y = idx.read_images_labels(d / "t10k-images-idx3-ubyte.gz", d / "t10k-labels-idx1-ubyte.gz")
    assert x.shape == (10000, 28, 28) and np.bincount(y).tolist() == [1000] * 10
