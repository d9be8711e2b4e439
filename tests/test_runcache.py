"""pipeline.runcache outside the end-to-end tests (which push to S3 and restore on another clone):
its errors are DVC's, in one line."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.fixture
def dvc_repo(tmp_path):
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=tmp_path, check=True, env=env)
    return tmp_path


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "no remote specified"),
        (["-r", "nosuch"], "remote 'nosuch' doesn't exist"),
    ],
)
def test_push_without_a_remote_says_so_in_one_line(dvc_repo, args, message):
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.runcache", "push", *args],
        cwd=dvc_repo,
        env={**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("runcache: ") and message in lines[0], proc.stderr
