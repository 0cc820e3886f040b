"""Download a missing dataset from upstream, verified, into ``<data dir>/<folder>/``.

What is fetched is the table of :mod:`jaxml.data.upstream` (URLs, sizes, pinned SHA-256).
For each file of a :class:`~jaxml.data.upstream.Bundle` not already in place:

1. URLs are tried in order: each base of ``$JAXML_DATA_MIRROR`` first (comma- or
   space-separated base URLs; the file is ``<base>/<folder>/<file name>``, the layout of the
   data folder itself, so ``python -m http.server -d <a data folder>`` is a mirror), then the
   upstream URLs.
2. The body is streamed to a temporary file ``.<name>.part-*`` in the target folder while its
   SHA-256 is computed; the byte count is checked against ``Content-Length`` and the pinned
   size, the hash against the pinned hash. Only a file that passes is renamed (``os.replace``,
   atomic) to its final name; on any failure the temporary file is deleted, so a crash, a
   dropped connection or a bad checksum never leaves a file the readers would accept.
3. A ``.tar.gz`` with ``extract`` set is unpacked into a temporary folder beside the target
   (regular files and folders only, no member outside it) and renamed into place, then the
   archive is deleted.

When every URL fails: :class:`~jaxml.data.errors.DownloadError` naming the dataset, the file,
each URL with its cause, the expected size and hash, and the manual fallback.

Switches (environment):

- ``JAXML_OFFLINE=1`` (also ``true``/``yes``): never download; ``load`` raises
  ``DatasetNotFoundError`` with the commands that would fetch the files. CI sets it.
- ``JAXML_DATA_MIRROR``: base URLs tried before upstream (see 1.).
- ``JAXML_DATA_TIMEOUT``: seconds a connection or a read may stall before that URL counts as
  failed (default 60).
- ``JAXML_DATA_SHA256SUMS``: a local file in ``sha256sum`` format (``<hex>  ./<folder>/<file>``,
  like ``SHA256SUMS`` of our shared data folder) whose entries replace the pinned hashes of
  the files it names (their sizes are then not checked). Only for a mirror you control that
  serves re-packed copies (the shared MNIST files are re-gzipped, so their hashes differ from
  upstream); every file is still verified, against that list.

Progress: a one-line bar on stderr, shown when stderr is a terminal or ``progress=True``.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from .errors import DatasetNotFoundError, DownloadError
from .sources import resolve_root
from .upstream import Bundle, RemoteFile, get_bundle

__all__ = ["download", "fetch_file", "offline", "mirror_bases", "is_present", "OFFLINE_VAR", "MIRROR_VAR",
           "SUMS_VAR", "TIMEOUT_VAR"]

OFFLINE_VAR = "JAXML_OFFLINE"
MIRROR_VAR = "JAXML_DATA_MIRROR"
SUMS_VAR = "JAXML_DATA_SHA256SUMS"
TIMEOUT_VAR = "JAXML_DATA_TIMEOUT"
_CHUNK = 1 << 16
_USER_AGENT = "jaxml-data/1 (python urllib)"


def offline() -> bool:
    """True when ``$JAXML_OFFLINE`` is 1/true/yes (any case)."""
    return os.environ.get(OFFLINE_VAR, "").strip().lower() in ("1", "true", "yes")


def mirror_bases() -> tuple[str, ...]:
    """The base URLs of ``$JAXML_DATA_MIRROR`` (comma- or whitespace-separated), in order."""
    return tuple(b.rstrip("/") for b in re.split(r"[,\s]+", os.environ.get(MIRROR_VAR, "")) if b)


def _operator_sums() -> dict[str, str]:
    """``{"<folder>/<file>": sha256}`` from ``$JAXML_DATA_SHA256SUMS``, or {} when unset."""
    path = os.environ.get(SUMS_VAR, "").strip()
    if not path:
        return {}
    try:
        text = Path(path).expanduser().read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise DownloadError(f"${SUMS_VAR}={path}: cannot read the checksum list ({err}); unset it to use "
                            f"the pinned hashes") from err
    sums = {}
    for line in text.splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2 and re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            sums[parts[1].strip().lstrip("*").removeprefix("./")] = parts[0].lower()
    return sums


def _expected(bundle: Bundle, remote: RemoteFile) -> tuple[str, int | None, str]:
    """(sha256, size or None, where the hash comes from) for ``remote``."""
    override = _operator_sums().get(f"{bundle.folder}/{remote.name}")
    if override is not None:
        return override, None, f"${SUMS_VAR} ({os.environ[SUMS_VAR]})"
    return remote.sha256.lower(), remote.size, remote.source


def is_present(bundle: Bundle, root: Path) -> bool:
    """True when every file of ``bundle`` (or its unpacked folder) is in ``root/<folder>/``."""
    folder = root / bundle.folder
    return all((folder / f.target).exists() for f in bundle.files)


# --------------------------------------------------------------------------- progress


class _Progress:
    """``\\r<label>  12.3/170.5 MB  7%`` on stderr, at most 5 updates a second."""

    def __init__(self, label: str, total: int | None, enabled: bool):
        self.label, self.total, self.enabled = label, total, enabled
        self.last = 0.0

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 0.2):
            return
        self.last = now
        mb = f"{done / 1e6:.1f}"
        if self.total:
            text = f"{mb}/{self.total / 1e6:.1f} MB {100 * done // self.total:3d}%"
        else:
            text = f"{mb} MB"
        sys.stderr.write(f"\r  {self.label}  {text}" + ("\n" if final else ""))
        sys.stderr.flush()


# --------------------------------------------------------------------------- one URL


class _Rejected(Exception):
    """One URL's attempt failed; the message is the cause."""


def _fetch_to(url: str, part: Path, sha256: str, size: int | None, timeout: float, bar: _Progress) -> None:
    """Stream ``url`` into ``part`` and verify it; _Rejected with the cause otherwise."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest, done = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(part, "wb") as out:
            length = response.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            if size is not None and length is not None and length != size:
                raise _Rejected(f"server announces {length} bytes, expected {size}")
            bar.total = size or length
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                done += len(chunk)
                if size is not None and done > size:
                    raise _Rejected(f"more than the expected {size} bytes")
                bar.update(done)
    except _Rejected:
        raise
    except urllib.error.HTTPError as err:
        raise _Rejected(f"HTTP {err.code} {err.reason}") from err
    except urllib.error.URLError as err:
        raise _Rejected(f"cannot connect ({err.reason})") from err
    except (OSError, ValueError, http.client.HTTPException) as err:  # dropped connection, timeout, bad URL
        raise _Rejected(f"transfer failed after {done} bytes ({type(err).__name__}: {err})") from err
    bar.update(done, final=True)
    if length is not None and done != length:
        raise _Rejected(f"connection ended after {done} of {length} bytes")
    if size is not None and done != size:
        raise _Rejected(f"got {done} bytes, expected {size}")
    if digest.hexdigest() != sha256:
        raise _Rejected(f"SHA-256 mismatch: got {digest.hexdigest()}, expected {sha256}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def fetch_file(
    bundle: Bundle,
    remote: RemoteFile,
    root: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float | None = None,
    progress: bool | None = None,
) -> Path:
    """Put ``remote`` of ``bundle`` in place under ``root/<folder>/`` (see the module docstring).

    Returns the final path (the file, or the unpacked folder). Already present: returned
    without any request. Missing with ``JAXML_OFFLINE=1``: ``DatasetNotFoundError``, no request.
    ``mirrors``: base URLs tried first (None: ``$JAXML_DATA_MIRROR``). ``timeout``: seconds a
    connection or a read may stall (None: ``$JAXML_DATA_TIMEOUT``, else 60). ``progress``: None
    shows the bar when stderr is a terminal. Raises :class:`DownloadError` when every URL fails.
    """
    folder = resolve_root(root) / bundle.folder
    final = folder / remote.target
    if final.exists():
        return final
    if offline():
        raise DatasetNotFoundError(
            f"Dataset {bundle.dataset!r}: {remote.name} is not in {folder} and {OFFLINE_VAR}=1 forbids "
            f"downloading it (from {remote.urls[0]}); unset {OFFLINE_VAR} or put the file there by hand."
        )
    sha256, size, source = _expected(bundle, remote)
    if timeout is None:
        timeout = float(os.environ.get(TIMEOUT_VAR, "").strip() or 60.0)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    bases = mirror_bases() if mirrors is None else tuple(m.rstrip("/") for m in mirrors)
    urls = [f"{b}/{bundle.folder}/{remote.name}" for b in bases] + list(remote.urls)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    failures = []
    for url in urls:
        fd, tmp = tempfile.mkstemp(prefix=f".{remote.name}.part-", dir=folder)
        os.close(fd)
        part = Path(tmp)
        try:
            if show:
                sys.stderr.write(f"Downloading {url}\n")
            _fetch_to(url, part, sha256, size, timeout, _Progress(f"{bundle.folder}/{remote.name}", size, show))
            os.chmod(part, 0o666 & ~_umask())  # mkstemp makes 0600; give the file a normal mode
            if remote.extract:
                _unpack(part, folder, remote.extract)
            else:
                os.replace(part, final)
            return final
        except _Rejected as err:
            failures.append((url, str(err)))
        finally:
            _remove(part)
    if created:
        try:
            folder.rmdir()  # leave no empty folder behind (only if it is still empty)
        except OSError:
            pass
    raise _download_error(bundle, remote, folder, failures, sha256, size, source)


def _unpack(archive: Path, folder: Path, top: str) -> None:
    """Unpack the verified tar.gz ``archive``'s ``top/`` into ``folder/top`` atomically."""
    staging = Path(tempfile.mkdtemp(prefix=f".{top}.unpack-", dir=folder))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                parts = Path(member.name).parts
                if not parts or parts[0] != top or ".." in parts or member.name.startswith("/"):
                    raise _Rejected(f"archive member {member.name!r} is not under {top}/")
                if not (member.isfile() or member.isdir()):
                    continue  # links and devices are never unpacked
                tar.extract(member, staging, filter="data")
        os.replace(staging / top, folder / top)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise _Rejected(f"verified archive could not be unpacked ({err})") from err
    finally:
        _remove(staging)


def _download_error(bundle, remote, folder, failures, sha256, size, source) -> DownloadError:
    tried = "\n".join(f"    {url}: {cause}" for url, cause in failures) or "    (no URL)"
    manual = (f"download {remote.urls[0]} yourself, check `sha256sum` says {sha256}, and put it at "
              f"{folder / remote.name}" + (f" (then unpack its {remote.extract}/ there)" if remote.extract else ""))
    return DownloadError(
        f"Dataset {bundle.dataset!r}: could not download {remote.name!r} ({bundle.variant} files).\n"
        f"  Tried, in order:\n{tried}\n"
        f"  Expected: {size if size is not None else 'any number of'} bytes, SHA-256 {sha256} (pinned from {source}).\n"
        f"  Nothing was written to {folder} (partial downloads are deleted).\n"
        f"  By hand: {manual}; or set ${MIRROR_VAR} to a server laid out as <base>/{bundle.folder}/{remote.name}; "
        f"${OFFLINE_VAR}=1 turns downloads off."
    )


def download(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    variant: str | None = None,
    bundle: Bundle | None = None,
    mirrors: Sequence[str] | None = None,
    timeout: float | None = None,
    progress: bool | None = None,
) -> Path:
    """Download dataset ``name`` (its default bundle, or ``variant``, or the ``bundle`` given)
    into ``root/<folder>/`` (``root`` None: the data dir); files already there are not fetched
    again. Returns the folder. Raises :class:`DownloadError` (a ``DatasetNotFoundError``) when
    a file cannot be fetched and verified, ValueError for a dataset with no download.
    """
    if bundle is None:
        bundle = get_bundle(name, variant)
    elif bundle.dataset != name:
        raise ValueError(f"bundle is for dataset {bundle.dataset!r}, not {name!r}")
    for remote in bundle.files:
        fetch_file(bundle, remote, root, mirrors=mirrors, timeout=timeout, progress=progress)
    return resolve_root(root) / bundle.folder
