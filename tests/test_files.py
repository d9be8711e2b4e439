"""Outputs are written whole or not at all; a full disk is one error naming the output."""

import errno
import subprocess
import sys

import numpy as np
import pytest

from pipeline import errors, files
from tests.conftest import ROOT


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_an_output_appears_only_once_written(tmp_path):
    path = tmp_path / "out" / "a.json"
    with files.replacing(path) as tmp:
        tmp.write_text("{}")
        assert not path.exists() and tmp.parent == path.parent and tmp.suffix == ".json"
    assert path.read_text() == "{}" and leftovers(path.parent) == ["a.json"]


def test_a_failed_write_leaves_the_previous_output_and_no_partial_file(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("old\n")
    with pytest.raises(RuntimeError, match="half way"), files.replacing(path) as tmp:
        tmp.write_text("new, half")
        raise RuntimeError("half way")
    assert path.read_text() == "old\n" and leftovers(tmp_path) == ["a.csv"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_is_reported_against_the_output_not_the_temporary_file(tmp_path, code):
    path = tmp_path / "model.keras"
    with pytest.raises(OSError) as err, files.replacing(path) as tmp:
        tmp.write_bytes(b"PK")
        # As Keras's saving does: the OSError arrives wrapped in another error.
        try:
            raise OSError(code, "full", str(tmp))
        except OSError as e:
            raise ValueError("could not save") from e
    assert err.value.errno == code and err.value.filename == str(path)
    assert leftovers(tmp_path) == []


def test_other_errors_are_not_taken_for_a_full_disk():
    assert files.disk_full(OSError(errno.EACCES, "denied")) is None
    assert files.disk_full(RuntimeError("x")) is None
    inner = OSError(errno.ENOSPC, "full")
    outer = RuntimeError("wrapped")
    outer.__context__ = inner
    assert files.disk_full(outer) is inner


def test_json_outputs_refuse_what_json_cannot_hold_and_leave_nothing(tmp_path):
    files.write_json(tmp_path / "ok.json", {"a": [1, 0.5]})
    assert (tmp_path / "ok.json").read_text() == '{\n  "a": [\n    1,\n    0.5\n  ]\n}\n'
    with pytest.raises(ValueError):
        files.write_json(tmp_path / "bad.json", {"x": float("inf")})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.json"]


def test_npy_round_trip_is_numpys_own_format(tmp_path):
    x = np.arange(12, dtype=np.uint8).reshape(3, 4)
    files.save_npy(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", x)
    assert (tmp_path / "x.npy").read_bytes() == (tmp_path / "y.npy").read_bytes()


@pytest.fixture
def full_disk(tmp_path):
    """A real 64 KiB filesystem (tmpfs), so that writes fail with ENOSPC as on a full disk."""
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {mounted.stderr.decode().strip()}")
    yield where
    subprocess.run(["umount", str(where)], check=True)


def test_a_real_full_disk_leaves_nothing_and_names_the_output(full_disk):
    with pytest.raises(OSError) as err:
        files.save_npy(full_disk / "x_train.npy", np.zeros((100, 28, 28), dtype=np.uint8))
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(full_disk / "x_train.npy")
    assert leftovers(full_disk) == []


def test_a_stage_on_a_full_disk_ends_with_one_line_naming_the_output(full_disk):
    code = (
        "import numpy as np\n"
        "from pipeline import errors, files\n"
        f"errors.run_stage('preprocess', lambda: files.save_npy({str(full_disk / 'x.npy')!r}, np.zeros(10**6)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        f"preprocess: no space left on device writing {full_disk / 'x.npy'}; "
        "free space on that disk and run `dvc repro` again"
    )
    assert leftovers(full_disk) == []


def test_main_reports_a_full_disk_without_a_traceback(capsys):
    def fails():
        raise OSError(errno.ENOSPC, "No space left on device", "data/models/cnn.keras")

    with pytest.raises(SystemExit) as ended:
        errors.run_stage("train_cnn", fails)
    assert str(ended.value.code) == (
        "train_cnn: no space left on device writing data/models/cnn.keras; "
        "free space on that disk and run `dvc repro` again"
    )
