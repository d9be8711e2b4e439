import dataclasses
import errno
import gzip
import hashlib
import http.server
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from pipeline import fetch
from tests.conftest import ROOT, SHARED_DATA

PAYLOAD = b"id,tweet\n" + b"1,rain rain rain\n" * 5000
GZ_CONTENT = b"decompressed content of a fashion file" * 100


def entry_for(path: str, data: bytes, **extra) -> fetch.Entry:
    return fetch.Entry(path=path, sha256=hashlib.sha256(data).hexdigest(), **extra)


class Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    hits: dict[str, int] = {}
    release = threading.Event()
    sent_whole: set[str] = set()  # files that the "stalled" mode sends in full

    def log_message(self, *args):
        pass

    def do_GET(self):
        mode, _, name = self.path.lstrip("/").partition("/")
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        data = Handler.files.get(name)
        if data is None or mode == "missing":
            self.send_error(404)
            return
        if mode == "error500":
            self.send_error(500)
            return
        if mode == "flaky" and Handler.hits[self.path] <= 2:
            # Promise the whole file, send a third, hang up: a dropped connection.
            self._send(data, len(data) // 3)
            return
        if mode == "truncated":
            self._send(data, len(data) // 2)
            return
        if mode == "stalled" and name not in Handler.sent_whole:
            # Half the file, then nothing until the test lets go: a mirror that stops sending.
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            Handler.release.wait(60)
            self.close_connection = True
            return
        if mode == "wrong":
            data = data[::-1]
        self._send(data, len(data))

    def _send(self, data: bytes, upto: int):
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:upto])
        self.wfile.flush()
        self.close_connection = True


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def server():
    Handler.files = {"tweets.csv": PAYLOAD}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(fetch.time, "sleep", lambda s: None)


def test_good_url(server, tmp_path):
    e = entry_for("t/tweets.csv", PAYLOAD, urls=(f"{server}/ok/tweets.csv",))
    got = fetch.fetch(e, tmp_path / "raw", timeout=5, retries=0)
    assert (tmp_path / "raw/t/tweets.csv").read_bytes() == PAYLOAD
    assert got.source.endswith("/ok/tweets.csv")
    assert files_under(tmp_path) == ["raw/t/tweets.csv"]  # the staging folder is gone once done
    assert not fetch.staging_dir(tmp_path / "raw").exists()


def test_dropped_connection_is_retried(server, tmp_path):
    e = entry_for("t/tweets.csv", PAYLOAD, urls=(f"{server}/flaky/tweets.csv",))
    fetch.fetch(e, tmp_path / "raw", timeout=5, retries=3)
    assert (tmp_path / "raw/t/tweets.csv").read_bytes() == PAYLOAD
    assert Handler.hits["/flaky/tweets.csv"] == 3


@pytest.mark.parametrize(
    "mode, message",
    [
        ("truncated", f"connection closed after {len(PAYLOAD) // 2} of {len(PAYLOAD)} bytes (after 2 attempts)"),
        ("wrong", "checksum mismatch (sha256): expected " + hashlib.sha256(PAYLOAD).hexdigest()),
        ("missing", "HTTP 404"),
        ("error500", "HTTP 500"),
    ],
)
def test_bad_sources_leave_nothing_and_say_why(server, tmp_path, mode, message):
    e = entry_for("t/tweets.csv", PAYLOAD, urls=(f"{server}/{mode}/tweets.csv",))
    with pytest.raises(fetch.FetchError) as err:
        fetch.fetch(e, tmp_path / "raw", timeout=5, retries=1)
    text = str(err.value)
    assert message in text and f"{server}/{mode}/tweets.csv" in text
    assert f"set {fetch.MIRROR_ENV}" in text
    assert files_under(tmp_path) == []  # no partial file, in the output or in the staging folder


def test_a_mirror_that_stops_sending_half_way_times_out_leaves_nothing_and_the_next_run_completes(server, tmp_path):
    e = entry_for("t/tweets.csv", PAYLOAD, urls=(f"{server}/stalled/tweets.csv",))
    Handler.release.clear()
    try:
        with pytest.raises(fetch.FetchError, match="timed out"):
            fetch.fetch(e, tmp_path / "raw", timeout=0.5, retries=1)
    finally:
        Handler.release.set()
    assert files_under(tmp_path) == []
    fetch.fetch(dataclasses.replace(e, urls=(f"{server}/ok/tweets.csv",)), tmp_path / "raw", timeout=5, retries=0)
    assert files_under(tmp_path) == ["raw/t/tweets.csv"]


def test_a_full_disk_while_downloading_names_the_file_tries_nothing_more_and_leaves_nothing(
    server, tmp_path, monkeypatch
):
    def fill_the_disk(src, tmp, timeout, retries):
        tmp.write_bytes(PAYLOAD[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fetch, "_copy_or_download", fill_the_disk)
    e = entry_for("t/tweets.csv", PAYLOAD, urls=(f"{server}/ok/tweets.csv", f"{server}/flaky/tweets.csv"))
    with pytest.raises(OSError) as err:
        fetch.fetch(e, tmp_path / "raw", timeout=5, retries=3)
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(tmp_path / "raw/t/tweets.csv")
    assert files_under(tmp_path) == []


def test_the_download_stage_killed_mid_file_leaves_no_partial_file_and_the_next_run_completes(server, tmp_path):
    """The real stage, in a checkout whose manifest names two files on a local mirror: killed
    while the second is half way, data/raw holds only the first, verified; the rerun completes."""
    first, second = b"a,b\n" * 1000, bytes(range(256)) * (3 << 12)  # the second: 3 MiB, several reads
    Handler.files.update({"weather-tweets/first.csv": first, "weather-tweets/second.csv": second})
    manifest = {"fashion-mnist": {}, "weights": {}, "tweets-mirror": {}}
    for name, data in (("first.csv", first), ("second.csv", second)):
        manifest["tweets-mirror"][f"weather-tweets/{name}"] = {"sha256": hashlib.sha256(data).hexdigest()}
    (tmp_path / "data").mkdir()
    (tmp_path / "data/manifest.yaml").write_text(yaml.safe_dump(manifest))
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    partial = fetch.staging_dir(tmp_path / "data/raw") / "weather-tweets/second.csv"

    def stage(mode):
        env = {**os.environ, "PYTHONPATH": str(ROOT), fetch.MIRROR_ENV: f"{server}/{mode}"}
        cmd = [sys.executable, "-m", "stages.download"]
        return subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)

    Handler.release.clear()
    Handler.sent_whole = {"weather-tweets/first.csv"}
    proc = stage("stalled")
    try:
        deadline = time.monotonic() + 60
        while not (partial.is_file() and partial.stat().st_size > 0) and proc.poll() is None:
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        Handler.release.set()
        Handler.sent_whole = set()
    assert proc.returncode == -signal.SIGKILL
    assert files_under(tmp_path / "data/raw") == ["weather-tweets/first.csv"]
    assert (tmp_path / "data/raw/weather-tweets/first.csv").read_bytes() == first

    proc = stage("ok")
    assert proc.communicate(timeout=120)[1].count(": verified, from ") == 2 and proc.returncode == 0
    assert files_under(tmp_path / "data/raw") == ["weather-tweets/first.csv", "weather-tweets/second.csv"]
    assert (tmp_path / "data/raw/weather-tweets/second.csv").read_bytes() == second
    assert not fetch.staging_dir(tmp_path / "data/raw").exists()


def test_falls_through_to_the_next_source(server, tmp_path):
    e = entry_for("t/tweets.csv", PAYLOAD, urls=(f"{server}/wrong/tweets.csv", f"{server}/ok/tweets.csv"))
    got = fetch.fetch(e, tmp_path / "raw", timeout=5, retries=0)
    assert got.source.endswith("/ok/tweets.csv") and "checksum mismatch" in got.tried[0]


def test_mirror_as_base_url(server, tmp_path):
    e = entry_for("tweets.csv", PAYLOAD, urls=("http://127.0.0.1:9/never",))
    got = fetch.fetch(e, tmp_path / "raw", mirror=f"{server}/ok/", timeout=5, retries=0)
    assert got.source == f"{server}/ok/tweets.csv"


def test_sources_order(tmp_path):
    debian = tmp_path / "debian"
    debian.mkdir()
    (debian / "x.gz").write_bytes(b"")
    e = fetch.Entry(path="fashion-mnist/x.gz", gunzip_sha256="0" * 64, debian="x.gz", urls=("http://a/x.gz",))
    assert fetch.sources(e, "/m", debian) == ["/m/fashion-mnist/x.gz", str(debian / "x.gz"), "http://a/x.gz"]
    assert fetch.sources(e, "http://m/base/", debian)[0] == "http://m/base/fashion-mnist/x.gz"
    assert fetch.sources(e, None, tmp_path / "absent") == ["http://a/x.gz"]


def test_debian_headed_gzip_passes_decompressed_check(tmp_path):
    """Debian rewrote the gzip headers (name, time): other bytes, same content, both verify."""
    zalando = gzip.compress(GZ_CONTENT, mtime=1)
    debian = gzip.compress(GZ_CONTENT, mtime=1_600_000_000, compresslevel=6)
    assert zalando != debian
    e = fetch.Entry(path="f.gz", gunzip_sha256=hashlib.sha256(GZ_CONTENT).hexdigest())
    for i, blob in enumerate((zalando, debian)):
        (tmp_path / f"{i}.gz").write_bytes(blob)
        fetch.verify(tmp_path / f"{i}.gz", e)


def test_corrupt_and_truncated_gzip(tmp_path):
    e = fetch.Entry(path="f.gz", gunzip_sha256=hashlib.sha256(GZ_CONTENT).hexdigest())
    blob = gzip.compress(GZ_CONTENT)
    (tmp_path / "cut.gz").write_bytes(blob[:-20])
    with pytest.raises(fetch.ChecksumError, match="f.gz: not a complete gzip file"):
        fetch.verify(tmp_path / "cut.gz", e)
    (tmp_path / "other.gz").write_bytes(gzip.compress(GZ_CONTENT + b"!"))
    with pytest.raises(fetch.ChecksumError, match="checksum mismatch .sha256 of the decompressed content."):
        fetch.verify(tmp_path / "other.gz", e)


def test_git_blob_checksum(tmp_path):
    (tmp_path / "f").write_bytes(b"hello\n")
    # `printf 'hello\n' | git hash-object --stdin`
    fetch.verify(tmp_path / "f", fetch.Entry(path="f", git_blob="ce013625030ba8dba906f756967f9e9ca394464a"))


def test_nothing_available_lists_what_was_tried(tmp_path):
    e = fetch.Entry(path="weather-tweets/x.csv", sha256="0" * 64)
    with pytest.raises(fetch.FetchError) as err:
        fetch.fetch(e, tmp_path / "out", mirror=str(tmp_path / "empty-mirror"))
    text = str(err.value)
    assert "empty-mirror/weather-tweets/x.csv: no such file" in text
    assert "only published through a mirror" in text


def test_manifest_groups():
    entries = fetch.read_manifest(["fashion-mnist", "weights", "tweets-mirror"], ROOT / "data/manifest.yaml")
    assert len(entries) == 7 and all(e.debian for e in entries[:4])
    assert [e.path for e in entries[5:]] == [
        "weather-tweets/train_first8000.csv",
        "weather-tweets/train_rows10000-15588.csv",
    ]
    with pytest.raises(fetch.FetchError, match="no group 'tweets-all'"):
        fetch.read_manifest(["tweets-all"], ROOT / "data/manifest.yaml")


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs the real data mirror ../shared/data")
def test_real_mirror_verifies(tmp_path):
    """Every file the default pipeline needs is in the mirror and matches the manifest."""
    groups = ["fashion-mnist", "weights", "tweets-mirror", "tweets-first8000"]
    for e in fetch.read_manifest(groups, ROOT / "data/manifest.yaml"):
        fetch.verify(Path(SHARED_DATA) / e.path, e)


@pytest.mark.skipif(not fetch.DEBIAN_DIR.is_dir(), reason="needs `apt-get install dataset-fashion-mnist`")
def test_real_debian_dataset_is_a_source(tmp_path):
    """Debian's copies have rewritten gzip headers, yet verify: only the content is checked."""
    import dataclasses

    for e in fetch.read_manifest(["fashion-mnist"], ROOT / "data/manifest.yaml"):
        offline = dataclasses.replace(e, urls=())  # no network: Debian's folder must be enough
        got = fetch.fetch(offline, tmp_path / "raw", mirror=None)
        assert got.source == str(fetch.DEBIAN_DIR / e.debian)
