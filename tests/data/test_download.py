"""Verified downloads (jaxml.data.download): files served from a local HTTP server on 127.0.0.1.

Every fake upstream file is written here in its upstream format (CIFAR-10 python tarball, the
aclImdb archive, gzipped IDX), its SHA-256 computed, and a Bundle naming it is passed to
``download`` or put in place of the pinned table entry with monkeypatch. The pinned table itself
is checked against the checksum files tensorflow_datasets ships.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import tarfile
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from jaxml.data import DatasetNotFoundError, DownloadError, load, upstream
from jaxml.data.download import download
from jaxml.data.upstream import Bundle, RemoteFile
from jaxml.testing import fake_files as writers

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 5.0  # seconds a test download may stall


# --------------------------------------------------------------------------- the local server


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files[path] = (body, mode)``; mode "drop" sends half the body and closes."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.requests.append(self.path)
        entry = self.server.files.get(self.path)
        if entry is None:
            self.send_error(404, "not here")
            return
        body, mode = entry
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "stall":  # a server that stops sending (bounded, so the thread ends)
            self.wfile.write(body[:10])
            self.wfile.flush()
            time.sleep(1.5)
            return
        self.wfile.write(body[: len(body) // 2] if mode == "drop" else body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A threaded HTTP server on 127.0.0.1 (port 0), stopped after the test."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.files, httpd.requests = {}, []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"

    def serve(path: str, body: bytes, mode: str = "ok") -> str:
        httpd.files[path] = (body, mode)
        return url + path

    try:
        yield types.SimpleNamespace(url=url, serve=serve, requests=httpd.requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def online(monkeypatch):
    """Downloads allowed (tests/data/conftest.py sets JAXML_OFFLINE=1 for every test), each stall
    bounded by TIMEOUT seconds (also for downloads started by ``load``)."""
    monkeypatch.delenv("JAXML_OFFLINE", raising=False)
    monkeypatch.setenv("JAXML_DATA_TIMEOUT", str(TIMEOUT))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def remote(name: str, data: bytes, urls, *, extract=None, sha256=None, size="len") -> RemoteFile:
    return RemoteFile(name, tuple(urls), sha256 or sha(data), len(data) if size == "len" else size,
                      "computed by the test", extract=extract)


def cifar_tarball(writers, tmp_path) -> bytes:
    path = tmp_path / "src" / "cifar-10-python.tar.gz"
    writers.write_cifar_tar(path, writers.cifar_files(per_batch=4))
    return path.read_bytes()


def acl_tarball(writers, tmp_path, top="aclImdb") -> bytes:
    acl = writers.write_acl(tmp_path / "src")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(acl, arcname=top)
    return buf.getvalue()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------- tests


def test_load_downloads_verifies_then_never_again(tmp_path, server, online, monkeypatch):
    body = cifar_tarball(writers, tmp_path)
    url = server.serve("/kriz/cifar-10-python.tar.gz", body)
    bundle = Bundle("cifar10", "python", "cifar10", (remote("cifar-10-python.tar.gz", body, [url]),))
    monkeypatch.setitem(upstream.UPSTREAM, "cifar10", (bundle,))
    root = tmp_path / "data"

    train = load("cifar10", "train", data_dir=root)  # missing -> downloaded, verified, read
    assert train.x.shape == (20, 32, 32, 3) and train.y.shape == (20,)
    assert leftovers(root / "cifar10") == ["cifar-10-python.tar.gz"]  # no .part file
    assert (root / "cifar10" / "cifar-10-python.tar.gz").read_bytes() == body
    umask = os.umask(0o022)
    os.umask(umask)
    assert (root / "cifar10" / "cifar-10-python.tar.gz").stat().st_mode & 0o777 == 0o666 & ~umask
    assert server.requests == ["/kriz/cifar-10-python.tar.gz"]

    assert load("cifar10", "test", data_dir=root).x.shape == (4, 32, 32, 3)
    download("cifar10", root)  # present: nothing fetched
    assert server.requests == ["/kriz/cifar-10-python.tar.gz"]


def test_wrong_checksum_is_an_error_and_leaves_nothing(tmp_path, server, online):
    body = cifar_tarball(writers, tmp_path)
    url = server.serve("/kriz/cifar-10-python.tar.gz", body)
    wrong = sha(body + b"x")
    bundle = Bundle("cifar10", "python", "cifar10",
                    (remote("cifar-10-python.tar.gz", body, [url], sha256=wrong, size=None),))
    root = tmp_path / "data"
    with pytest.raises(DownloadError) as info:
        download("cifar10", root, bundle=bundle, timeout=TIMEOUT)
    msg = str(info.value)
    assert isinstance(info.value, DatasetNotFoundError)
    for part in ("'cifar10'", "cifar-10-python.tar.gz", url, "SHA-256 mismatch", sha(body), wrong,
                 "By hand", str(root / "cifar10")):
        assert part in msg, part
    assert not (root / "cifar10").exists()  # no file, no partial file, no empty folder


def test_size_announced_wrong_is_rejected(tmp_path, server, online):
    body = b"a" * 1000
    url = server.serve("/f.bin", body)
    bundle = Bundle("cifar10", "python", "cifar10", (remote("f.bin", body, [url], size=999),))
    with pytest.raises(DownloadError, match="server announces 1000 bytes, expected 999"):
        download("cifar10", tmp_path, bundle=bundle, timeout=TIMEOUT)
    assert leftovers(tmp_path) == []


def test_connection_dropped_mid_file_leaves_nothing(tmp_path, server, online):
    body = cifar_tarball(writers, tmp_path / "src")
    url = server.serve("/kriz/cifar-10-python.tar.gz", body, mode="drop")
    bundle = Bundle("cifar10", "python", "cifar10", (remote("cifar-10-python.tar.gz", body, [url]),))
    root = tmp_path / "data"
    root.mkdir()
    (root / "cifar10").mkdir()  # an existing folder stays, but gets nothing
    with pytest.raises(DownloadError) as info:
        download("cifar10", root, bundle=bundle, timeout=TIMEOUT)
    assert re.search(r"connection ended after \d+ of \d+ bytes|transfer failed after", str(info.value))
    assert leftovers(root / "cifar10") == []


def test_a_stalled_transfer_times_out_and_leaves_nothing(tmp_path, server, online, monkeypatch):
    body = os.urandom(5000)
    url = server.serve("/slow.bin", body, mode="stall")
    bundle = Bundle("cifar10", "python", "cifar10", (remote("slow.bin", body, [url]),))
    monkeypatch.setenv("JAXML_DATA_TIMEOUT", "0.3")
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match=r"transfer failed after \d+ bytes \(TimeoutError: timed out\)"):
        download("cifar10", tmp_path, bundle=bundle)
    assert time.monotonic() - t0 < 1.4  # the 0.3 s limit, not the server's 1.5 s stall
    assert leftovers(tmp_path) == []


def test_mirrors_in_order_then_upstream(tmp_path, server, online, monkeypatch):
    body = cifar_tarball(writers, tmp_path)
    server.serve("/broken/cifar10/cifar-10-python.tar.gz", body, mode="drop")
    server.serve("/good/cifar10/cifar-10-python.tar.gz", body)
    upstream_url = server.url + "/upstream/cifar-10-python.tar.gz"  # never reached
    bundle = Bundle("cifar10", "python", "cifar10", (remote("cifar-10-python.tar.gz", body, [upstream_url]),))
    monkeypatch.setitem(upstream.UPSTREAM, "cifar10", (bundle,))
    monkeypatch.setenv("JAXML_DATA_MIRROR", f"{server.url}/missing, {server.url}/broken {server.url}/good/")
    root = tmp_path / "data"
    assert len(load("cifar10", "train", data_dir=root)) == 20
    assert server.requests == ["/missing/cifar10/cifar-10-python.tar.gz", "/broken/cifar10/cifar-10-python.tar.gz",
                               "/good/cifar10/cifar-10-python.tar.gz"]
    assert leftovers(root / "cifar10") == ["cifar-10-python.tar.gz"]


def test_all_urls_failing_names_each_cause(tmp_path, server, online):
    body = b"payload"
    dropped = server.serve("/drop/x.bin", body * 100, mode="drop")
    bundle = Bundle("imdb", "npz", "imdb", (remote("imdb.npz", body, [server.url + "/gone/imdb.npz", dropped]),))
    with pytest.raises(DownloadError) as info:
        download("imdb", tmp_path, bundle=bundle, mirrors=[], timeout=TIMEOUT)
    msg = str(info.value)
    assert f"{server.url}/gone/imdb.npz: HTTP 404" in msg
    assert f"{dropped}: " in msg and "expected 7" in msg
    assert leftovers(tmp_path) == []


def test_imdb_archive_is_unpacked_atomically(tmp_path, server, online, monkeypatch):
    body = acl_tarball(writers, tmp_path)
    url = server.serve("/stanford/aclImdb_v1.tar.gz", body)
    acl = Bundle("imdb", "aclImdb", "imdb", (remote("aclImdb_v1.tar.gz", body, [url], extract="aclImdb"),))
    npz = Bundle("imdb", "npz", "imdb", (remote("imdb.npz", b"never", [server.url + "/keras/imdb.npz"]),))
    monkeypatch.setitem(upstream.UPSTREAM, "imdb", (npz, acl))
    root = tmp_path / "data"
    train = load("imdb", "train", data_dir=root, source="aclImdb")  # the aclImdb variant, not the default
    assert len(train) == 3 and list(train.y) == [1, 1, 0]
    assert leftovers(root / "imdb") == ["aclImdb"]  # archive deleted, no staging folder
    assert server.requests == ["/stanford/aclImdb_v1.tar.gz"]


def test_archive_member_outside_its_folder_is_refused(tmp_path, server, online):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("aclImdb/ok.txt", "aclImdb/../../evil.txt"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"hi"))
    body = buf.getvalue()
    url = server.serve("/a.tar.gz", body)
    bundle = Bundle("imdb", "aclImdb", "imdb", (remote("aclImdb_v1.tar.gz", body, [url], extract="aclImdb"),))
    with pytest.raises(DownloadError, match="not under aclImdb/"):
        download("imdb", tmp_path / "data", bundle=bundle, timeout=TIMEOUT)
    assert not (tmp_path / "data" / "imdb").exists() and not (tmp_path / "evil.txt").exists()


def test_offline_never_downloads_and_says_how(tmp_path, server, monkeypatch):
    assert os.environ.get("JAXML_OFFLINE") == "1"  # set by tests/data/conftest.py
    body = cifar_tarball(writers, tmp_path)
    url = server.serve("/kriz/cifar-10-python.tar.gz", body)
    bundle = Bundle("cifar10", "python", "cifar10", (remote("cifar-10-python.tar.gz", body, [url]),))
    monkeypatch.setitem(upstream.UPSTREAM, "cifar10", (bundle,))
    with pytest.raises(DatasetNotFoundError) as info:
        load("cifar10", "train", data_dir=tmp_path)
    assert not isinstance(info.value, DownloadError)
    assert "JAXML_OFFLINE=1" in str(info.value) and "python -m jaxml.data download cifar10" in str(info.value)
    with pytest.raises(DatasetNotFoundError, match="JAXML_OFFLINE=1 forbids downloading"):
        download("cifar10", tmp_path / "d")  # the explicit API call too
    assert server.requests == [] and not (tmp_path / "d").exists()


def test_progress_bar_on_request(tmp_path, server, online, capsys):
    body = os.urandom(3000)
    url = server.serve("/p.bin", body)
    bundle = Bundle("cifar10", "python", "cifar10", (remote("p.bin", body, [url]),))
    download("cifar10", tmp_path, bundle=bundle, progress=True, timeout=TIMEOUT)
    err = capsys.readouterr().err
    assert f"Downloading {url}" in err and "cifar10/p.bin" in err and "100%" in err
    download("cifar10", tmp_path / "other", bundle=bundle, progress=False, timeout=TIMEOUT)
    assert capsys.readouterr().err == ""


def _cli(args, env, timeout=60):
    return subprocess.run([sys.executable, "-m", "jaxml.data", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=REPO, timeout=timeout)


def test_demo_entry_offline_fails_with_one_clear_message(tmp_path):
    """`make demo` first runs `python -m jaxml.data download <its dataset>`: on a fresh machine with
    JAXML_OFFLINE=1 that is one message saying how to get the data, exit status 1, no traceback."""
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.M).group(1)
    step = re.search(r"-m jaxml\.data download ([\w ]+)", recipe)
    assert step, f"the demo recipe does not fetch its data first:\n{recipe}"
    out = _cli(["download", *step.group(1).split()], {"JAXML_DATA_DIR": str(tmp_path / "fresh"), "JAXML_OFFLINE": "1"})
    assert out.returncode == 1
    assert "Traceback" not in out.stderr + out.stdout
    assert "fashion_mnist" in out.stderr and "JAXML_OFFLINE=1" in out.stderr
    assert "python -m jaxml.data download fashion_mnist" in out.stderr and "make data" in out.stderr
    assert not (tmp_path / "fresh").exists()


def test_cli_downloads_from_a_mirror_with_an_operator_checksum_list(tmp_path, server, online, monkeypatch):
    """The real fashion_mnist bundle: a mirror serving re-packed files is rejected against the pinned
    sizes and hashes, and accepted (by the CLI) only against an operator's local SHA256SUMS list."""
    src = tmp_path / "mirror"
    writers.make_mnist_like(src, "fashion_mnist", 30, 10)
    sums = []
    for f in sorted((src / "fashion_mnist").iterdir()):
        server.serve(f"/m/fashion_mnist/{f.name}", f.read_bytes())
        sums.append(f"{sha(f.read_bytes())}  ./fashion_mnist/{f.name}\n")

    real = upstream.get_bundle("fashion_mnist")
    no_upstream = dataclasses.replace(real, files=tuple(
        dataclasses.replace(f, urls=(server.url + "/upstream-unreachable/" + f.name,)) for f in real.files))
    with pytest.raises(DownloadError, match=r"server announces \d+ bytes, expected 26421880"):
        download("fashion_mnist", tmp_path / "d0", bundle=no_upstream, mirrors=[server.url + "/m"], timeout=TIMEOUT)
    assert leftovers(tmp_path / "d0") == []

    (tmp_path / "SUMS").write_text("".join(sums))
    env = {"JAXML_DATA_DIR": str(tmp_path / "d1"), "JAXML_DATA_MIRROR": server.url + "/m", "JAXML_OFFLINE": "",
           "JAXML_DATA_SHA256SUMS": str(tmp_path / "SUMS")}
    server.requests.clear()
    ok = _cli(["download", "fashion_mnist"], env)
    assert ok.returncode == 0, ok.stderr
    assert "downloaded and verified" in ok.stdout
    assert sorted(server.requests) == sorted(f"/m/fashion_mnist/{f.name}" for f in real.files)  # no upstream
    got = load("fashion_mnist", "train", data_dir=tmp_path / "d1")
    assert got.x.shape == (30, 28, 28, 1)
    again = _cli(["download", "fashion_mnist"], env)
    assert again.returncode == 0 and "nothing downloaded" in again.stdout
    assert len(server.requests) == 4
    monkeypatch.setenv("JAXML_DATA_SHA256SUMS", str(tmp_path / "no-such-list"))
    with pytest.raises(DownloadError, match="no-such-list: cannot read the checksum list"):
        download("fashion_mnist", tmp_path / "d2", mirrors=[server.url + "/m"], timeout=TIMEOUT)
    assert not (tmp_path / "d2").exists()


def test_bundles_and_bad_names():
    assert upstream.get_bundle("imdb").variant == "npz"
    assert upstream.get_bundle("imdb", "aclImdb").files[0].extract == "aclImdb"
    with pytest.raises(ValueError, match="Debian"):
        upstream.get_bundle("kjv")
    with pytest.raises(ValueError, match="variants: npz, aclImdb"):
        upstream.get_bundle("imdb", "csv")
    with pytest.raises(ValueError, match="64 hex digits"):
        RemoteFile("x", ("http://h/x",), "abc", 1, "test")


def _tfds_checksums() -> dict[str, tuple[int, str]]:
    spec = importlib.util.find_spec("tensorflow_datasets")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("tensorflow_datasets is not installed (the tfds extra); its checksum files are the reference")
    base = Path(spec.submodule_search_locations[0])
    table = {}
    for path in [*base.glob("url_checksums/*.txt"), *base.glob("datasets/*/checksums.tsv")]:
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and not line.startswith("#"):
                table[parts[0].replace("http://", "https://")] = (int(parts[1]), parts[2])
    return table


def test_pinned_hashes_match_the_tfds_checksum_files():
    """Every file pinned from tensorflow_datasets has that package's size and sha256 for its URL."""
    table = _tfds_checksums()
    checked = 0
    for bundles in upstream.UPSTREAM.values():
        for bundle in bundles:
            for f in bundle.files:
                if not f.source.startswith("tensorflow_datasets"):
                    continue
                hits = [table[u.replace("http://", "https://")] for u in f.urls
                        if u.replace("http://", "https://") in table]
                assert hits, f"{bundle.folder}/{f.name}: none of {f.urls} is in tfds' checksum files"
                assert hits[0] == (f.size, f.sha256), f"{bundle.folder}/{f.name}"
                checked += 1
    assert checked == 4 + 4 + 1 + 1  # mnist, fashion_mnist, aclImdb, tiny shakespeare


def test_sizes_and_hashes_are_well_formed():
    for bundles in upstream.UPSTREAM.values():
        for bundle in bundles:
            for f in bundle.files:
                assert re.fullmatch(r"[0-9a-f]{64}", f.sha256) and f.source
                assert all(u.startswith(("https://", "http://")) for u in f.urls)
                assert np.all([f.size is None or f.size > 1000])
