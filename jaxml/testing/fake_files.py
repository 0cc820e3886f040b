"""Tiny datasets written in their upstream file formats, so ``jaxml.data.load`` reads them exactly as
it reads the real files (no download, no network).

Writers (each returns what it wrote, so a test can compare what ``load`` gives back):

- :func:`write_idx` one IDX file (gzipped when the name ends in ``.gz``), any dtype the format has;
- :func:`make_mnist_like` random MNIST-like images/labels (``train-images-idx3-ubyte[.gz]`` etc.);
- :func:`fake_mnist_like` a *learnable* MNIST-like set: class c lights a 7x7 block at a class-dependent place;
- :func:`cifar_files` / :func:`write_cifar_folder` / :func:`write_cifar_tar` random CIFAR-10 "python version"
  batches (pickle protocol 2, bytes keys), as a folder or as ``cifar-10-python.tar.gz``;
- :func:`write_fake_cifar10` a learnable CIFAR-10: class c paints an 8x8 block of colour ``COLOURS[c]``;
- :func:`write_acl` an ``aclImdb/{train,test}/{pos,neg}/*.txt`` tree of reviews; :func:`fake_reviews` a
  learnable corpus (positive and negative words);
- :func:`write_text_corpora` Shakespeare (``shakespeare/complete_works.txt``) and the word corpora
  (``text/kjv.txt`` with verse references, ``text/austen.txt``);
- :func:`write_fake_data` all of the above into one data folder (what the ``fake_data`` fixture uses).

Only numpy and the standard library: importing this module loads no JAX.
"""
from __future__ import annotations

import gzip
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

__all__ = [
    "ACL_REVIEWS", "CIFAR_CLASS_NAMES", "COLOURS", "DATASETS", "cifar_files", "cifar_rows", "fake_cifar_images",
    "fake_mnist_like", "fake_reviews", "make_mnist_like", "write_acl", "write_cifar_folder", "write_cifar_tar",
    "write_fake_cifar10", "write_fake_data", "write_idx", "write_text_corpora",
]

_IDX_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B,
              np.dtype("i4"): 0x0C, np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def write_idx(path, arr, *, truncate_by: int = 0) -> Path:
    """Write ``arr`` as an IDX file (gzipped if ``path`` ends with .gz); ``truncate_by`` drops that many
    trailing bytes (a corrupt file)."""
    path = Path(path)
    arr = np.asarray(arr)
    if arr.dtype not in _IDX_CODES:
        arr = arr.astype(np.uint8)
    header = bytes([0, 0, _IDX_CODES[arr.dtype], arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    raw = header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    if truncate_by:
        raw = raw[:-truncate_by]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)
    return path


def _write_mnist_split(folder: Path, prefix: str, x, y, gz: bool) -> None:
    ext = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", x)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", y)


def make_mnist_like(root, name: str, n_train: int, n_test: int, *, gz: bool = True, seed: int = 0) -> dict:
    """Random MNIST-like IDX files under ``root/name`` (uniform pixels, balanced shuffled labels);
    returns ``{"train": (images, labels), "test": (images, labels)}`` as uint8 arrays."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(y)
        _write_mnist_split(Path(root) / name, prefix, x, y, gz)
        out[split] = (x, y)
    return out


def fake_mnist_like(root, name: str, n_train: int = 700, n_test: int = 300, seed: int = 0) -> Path:
    """A learnable MNIST-like stand-in under ``root/name`` (gzipped IDX): class c lights a 7x7 block
    at a class-dependent place over dark noise, so a few training steps beat chance. Returns the folder."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / name
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(y):
            r, col = 3 + 7 * (c // 4), 3 + 7 * (c % 4)
            x[i, r:r + 7, col:col + 7] = 200
        _write_mnist_split(folder, prefix, x, y, gz=True)
    return folder


# ----------------------------------------------------------------------------------------- CIFAR-10

CIFAR_CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# One RGB colour per class (distinct hues), painted on a 3x4 grid of 8x8 blocks.
COLOURS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255],
                    [0, 255, 255], [255, 128, 0], [128, 0, 255], [255, 255, 255], [128, 255, 128]], np.uint8)


def _cifar_meta(per_batch: int) -> dict:
    return {b"label_names": [n.encode() for n in CIFAR_CLASS_NAMES], b"num_cases_per_batch": per_batch,
            b"num_vis": 3072}


def _random_cifar_batch(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"fake batch", b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [b"img%d.png" % i for i in range(n)]}


def cifar_files(per_batch: int = 4) -> dict[str, bytes]:
    """The seven CIFAR-10 python-version files (``data_batch_1..5``, ``test_batch``, ``batches.meta``),
    random and tiny, as ``{file name: pickled bytes}``."""
    files = {f"data_batch_{i}": pickle.dumps(_random_cifar_batch(per_batch, i), protocol=2) for i in range(1, 6)}
    files["test_batch"] = pickle.dumps(_random_cifar_batch(per_batch, 99), protocol=2)
    files["batches.meta"] = pickle.dumps(_cifar_meta(4), protocol=2)
    return files


def write_cifar_folder(folder, files: dict[str, bytes]) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def write_cifar_tar(path, files: dict[str, bytes]) -> Path:
    """``files`` as the upstream ``cifar-10-python.tar.gz`` (members under ``cifar-10-batches-py/``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def fake_cifar_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(x uint8 (n, 32, 32, 3) NHWC, y int (n,)): learnable class-coloured blocks over dark noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 50, (n, 32, 32, 3)).astype(np.uint8)
    for i, c in enumerate(y):
        r, col = 2 + 10 * (c // 4), 1 + 8 * (c % 4)
        x[i, r:r + 8, col:col + 8] = COLOURS[c]
    return x, y


def cifar_rows(x_NxHxWx3: np.ndarray) -> np.ndarray:
    """NHWC uint8 images -> CIFAR rows (N, 3072): the R plane, then G, then B, each row-major."""
    return np.ascontiguousarray(x_NxHxWx3.transpose(0, 3, 1, 2)).reshape(x_NxHxWx3.shape[0], 3 * 32 * 32)


def write_fake_cifar10(root, per_batch: int = 24, n_test: int = 60, seed: int = 0) -> Path:
    """A learnable ``root/cifar10/`` (5 x ``per_batch`` training images, ``n_test`` test images);
    ``data_batch_i`` holds ``fake_cifar_images(per_batch, seed + i)``, ``test_batch`` ``seed + 99``."""
    folder = Path(root) / "cifar10"
    folder.mkdir(parents=True, exist_ok=True)
    batches = {f"data_batch_{i}": fake_cifar_images(per_batch, seed + i) for i in range(1, 6)}
    batches["test_batch"] = fake_cifar_images(n_test, seed + 99)
    for name, (x, y) in batches.items():
        payload = {b"batch_label": name.encode(), b"labels": [int(v) for v in y], b"data": cifar_rows(x)}
        (folder / name).write_bytes(pickle.dumps(payload, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps(_cifar_meta(per_batch), protocol=2))
    return folder


# --------------------------------------------------------------------------------------------- IMDB

# A three-review training corpus (and two test reviews) small enough to check tokenisation by hand.
ACL_REVIEWS = {
    ("train", "pos", "0_9.txt"): "Great movie, great acting.<br /><br />Loved it!",
    ("train", "pos", "1_8.txt"): "Great fun; 10 out of 10. Don't miss it",
    ("train", "neg", "0_2.txt"): "Boring movie. I didn't like it",
    ("test", "pos", "0_10.txt"): "Great acting and a great 'story'",
    ("test", "neg", "0_1.txt"): "Awful MOVIE!",
}

_POSITIVE = ("great", "wonderful", "loved", "brilliant", "moving", "superb")
_NEGATIVE = ("boring", "awful", "hated", "dull", "terrible", "weak")
_NEUTRAL = ("the", "film", "plot", "actors", "story", "scene", "music", "ending", "it", "was")


def fake_reviews(n_per_class: int = 20, seed: int = 0) -> dict:
    """A learnable review corpus ``{(split, "pos"|"neg", file name): text}``: neutral words plus
    sentiment words of the review's class; ``n_per_class`` reviews per class and split."""
    rng = np.random.default_rng(seed)
    reviews = {}
    for split in ("train", "test"):
        for label, words in (("pos", _POSITIVE), ("neg", _NEGATIVE)):
            for i in range(n_per_class):
                body = list(rng.choice(_NEUTRAL, 8)) + list(rng.choice(words, 3))
                rng.shuffle(body)
                reviews[(split, label, f"{i}_{7 if label == 'pos' else 2}.txt")] = " ".join(body).capitalize() + "."
    return reviews


def write_acl(root, reviews: dict | None = None) -> Path:
    """``root/imdb/aclImdb/{train,test}/{pos,neg}/<file>`` from ``reviews`` (default :data:`ACL_REVIEWS`);
    returns the ``aclImdb`` folder."""
    reviews = ACL_REVIEWS if reviews is None else reviews
    acl = Path(root) / "imdb" / "aclImdb"
    for s in ("train", "test"):
        for lab in ("pos", "neg"):
            (acl / s / lab).mkdir(parents=True, exist_ok=True)
    for (s, lab, fname), text in reviews.items():
        (acl / s / lab / fname).write_text(text, encoding="utf-8")
    return acl


# --------------------------------------------------------------------------------------------- text

_PLAY = ("ROMEO. But soft, what light through yonder window breaks?\nJULIET. O Romeo, Romeo, wherefore art thou "
         "Romeo?\nHAMLET. To be, or not to be, that is the question.\n")
_VERSES = ("In the beginning God created the heaven and the earth.",
           "And the earth was without form, and void; and darkness was upon the face of the deep.",
           "And God said, Let there be light: and there was light.")
_NOVEL = ("It is a truth universally acknowledged, that a single man in possession of a good fortune, "
          "must be in want of a wife. ")


def write_text_corpora(root, repeat: int = 40) -> dict[str, Path]:
    """``shakespeare/complete_works.txt``, ``text/kjv.txt`` (``Ge1:k`` references) and ``text/austen.txt``,
    each its sample text repeated ``repeat`` times; returns ``{dataset name: file}``."""
    root = Path(root)
    files = {"shakespeare": root / "shakespeare" / "complete_works.txt", "kjv": root / "text" / "kjv.txt",
             "austen": root / "text" / "austen.txt"}
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    files["shakespeare"].write_text(_PLAY * repeat, encoding="utf-8")
    verses = [f"Ge{1 + i // len(_VERSES)}:{1 + i % len(_VERSES)} {_VERSES[i % len(_VERSES)]}"
              for i in range(repeat * len(_VERSES))]
    files["kjv"].write_text("\n".join(verses) + "\n", encoding="utf-8")
    files["austen"].write_text((_NOVEL * 3 + "\n") * repeat, encoding="utf-8")
    return files


DATASETS = ("mnist", "fashion_mnist", "cifar10", "imdb", "shakespeare", "kjv", "austen")


def write_fake_data(root, names=DATASETS) -> Path:
    """Tiny learnable versions of ``names`` (default: all of :data:`DATASETS`) in their upstream formats
    under ``root``: MNIST and Fashion-MNIST 700 train / 300 test (:func:`fake_mnist_like`, seeds 1 and 0),
    CIFAR-10 120 / 60 (:func:`write_fake_cifar10`), IMDB 40 / 40 reviews (:func:`fake_reviews`) and the
    text corpora (:func:`write_text_corpora`). Returns ``root``."""
    root = Path(root)
    unknown = sorted(set(names) - set(DATASETS))
    if unknown:
        raise ValueError(f"no fake data for {unknown}; expected names from {list(DATASETS)}")
    root.mkdir(parents=True, exist_ok=True)
    if "mnist" in names:
        fake_mnist_like(root, "mnist", seed=1)
    if "fashion_mnist" in names:
        fake_mnist_like(root, "fashion_mnist", seed=0)
    if "cifar10" in names:
        write_fake_cifar10(root)
    if "imdb" in names:
        write_acl(root, fake_reviews())
    if {"shakespeare", "kjv", "austen"} & set(names):
        files = write_text_corpora(root)
        for name, path in files.items():
            if name not in names:
                path.unlink()
    return root
