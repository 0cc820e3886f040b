"""Where each dataset's files come from upstream: URLs, sizes and pinned SHA-256 hashes.

Every hash below is copied from a public, citable source named in the comment beside it;
none was computed here from a file of unknown origin. The sources:

- ``[tfds]``: the ``tensorflow_datasets`` 4.9.10 package (the ``tfds`` extra), files
  ``url_checksums/mnist.txt``, ``url_checksums/fashion_mnist.txt``,
  ``datasets/imdb_reviews/checksums.tsv``, ``datasets/tiny_shakespeare/checksums.tsv``
  (each line: URL, size in bytes, sha256, file name).
- ``[keras]``: keras-team/keras, ``keras/src/datasets/cifar10.py`` and
  ``keras/src/datasets/imdb.py`` (the ``file_hash=`` argument of ``get_file``; a 64-digit
  hash is SHA-256 there). Keras gives no size, so ``size`` is None for those files and only
  the hash is checked (tfds pins CIFAR-10's *binary* archive only, which our reader does not
  take).

A :class:`Bundle` is the set of files that makes one dataset readable, saved under
``<data dir>/<folder>/`` with the names the readers look for. ``UPSTREAM[name]`` lists the
bundles of a dataset, the default first. ``MANUAL[name]`` explains the datasets that have no
single upstream file (our corpora are built from Debian and PyPI packages) and how to put
them in place by hand; nothing is downloaded for them.

Mirrors (``JAXML_DATA_MIRROR``, see :mod:`jaxml.data.download`) use the layout of the data
folder itself: ``<base>/<folder>/<file name>``.
"""
from __future__ import annotations

import dataclasses

__all__ = ["RemoteFile", "Bundle", "UPSTREAM", "MANUAL", "get_bundle"]


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """One upstream file.

    ``name``: the file name saved in the bundle's folder. ``urls``: upstream locations,
    tried in order (after any mirror). ``sha256``: 64 lowercase hex digits of the whole file.
    ``size``: bytes, or None when no citable source gives it (then only the hash is
    checked). ``source``: where the hash comes from. ``extract``: the top-level folder a
    ``.tar.gz`` holds (e.g. ``"aclImdb"``); when set, the verified archive is unpacked into
    the bundle folder (that folder appears atomically) and the archive deleted.
    """

    name: str
    urls: tuple[str, ...]
    sha256: str
    size: int | None
    source: str
    extract: str | None = None

    def __post_init__(self):
        digits = self.sha256.lower()
        if len(digits) != 64 or any(ch not in "0123456789abcdef" for ch in digits):
            raise ValueError(f"RemoteFile {self.name!r}: sha256 must be 64 hex digits, got {self.sha256!r}")
        if self.size is not None and self.size < 0:
            raise ValueError(f"RemoteFile {self.name!r}: size must be >= 0 bytes or None, got {self.size}")
        if not self.urls:
            raise ValueError(f"RemoteFile {self.name!r}: needs at least one URL")

    @property
    def target(self) -> str:
        """What exists in the folder once the file is in place: the file, or its unpacked folder."""
        return self.extract or self.name


@dataclasses.dataclass(frozen=True)
class Bundle:
    """The files of one dataset variant, saved under ``<data dir>/<folder>/``."""

    dataset: str
    variant: str
    folder: str
    files: tuple[RemoteFile, ...]
    note: str = ""

    @property
    def total_size(self) -> int | None:
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(sizes)


_TFDS = "tensorflow_datasets 4.9.10, {}"
_MNIST_CVDF = "https://storage.googleapis.com/cvdf-datasets/mnist/"
# torchvision's MNIST mirror (same upstream files; any difference is caught by the hash).
_MNIST_OSSCI = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION_S3 = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# The files committed in the Fashion-MNIST repository (same bytes as the S3 bucket, or rejected).
_FASHION_GITHUB = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"


def _idx_bundle(name: str, bases: tuple[str, ...], pins: dict[str, tuple[int, str]], source: str) -> Bundle:
    files = tuple(
        RemoteFile(file, tuple(base + file for base in bases), sha, size, source)
        for file, (size, sha) in pins.items()
    )
    return Bundle(name, "idx", name, files)


UPSTREAM: dict[str, tuple[Bundle, ...]] = {
    "mnist": (_idx_bundle("mnist", (_MNIST_CVDF, _MNIST_OSSCI), {
        # [tfds] url_checksums/mnist.txt (URLs under storage.googleapis.com/cvdf-datasets/mnist/)
        "train-images-idx3-ubyte.gz": (9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "train-labels-idx1-ubyte.gz": (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        "t10k-images-idx3-ubyte.gz": (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        "t10k-labels-idx1-ubyte.gz": (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    }, _TFDS.format("url_checksums/mnist.txt")),),
    "fashion_mnist": (_idx_bundle("fashion_mnist", (_FASHION_S3, _FASHION_GITHUB), {
        # [tfds] url_checksums/fashion_mnist.txt (URLs under fashion-mnist.s3-website.eu-central-1.amazonaws.com/)
        "train-images-idx3-ubyte.gz": (26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
        "train-labels-idx1-ubyte.gz": (29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
        "t10k-images-idx3-ubyte.gz": (4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
        "t10k-labels-idx1-ubyte.gz": (5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    }, _TFDS.format("url_checksums/fashion_mnist.txt")),),
    "cifar10": (Bundle("cifar10", "python", "cifar10", (
        RemoteFile(
            "cifar-10-python.tar.gz",
            ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
            # [keras] keras/src/datasets/cifar10.py: get_file(origin=".../cifar-10-python.tar.gz", file_hash=...)
            "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            None,  # no citable size; the hash decides
            "keras-team/keras keras/src/datasets/cifar10.py",
        ),
    ), note="read from the archive directly (nothing unpacked)"),),
    "imdb": (
        Bundle("imdb", "npz", "imdb", (
            RemoteFile(
                "imdb.npz",
                ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz",),
                # [keras] keras/src/datasets/imdb.py: get_file(origin=".../imdb.npz", file_hash=...)
                "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
                None,  # no citable size; the hash decides
                "keras-team/keras keras/src/datasets/imdb.py",
            ),
        ), note="Keras' word-rank sequences; imdb_word_index.json is not fetched (Keras pins it by MD5 only)"),
        Bundle("imdb", "aclImdb", "imdb", (
            RemoteFile(
                "aclImdb_v1.tar.gz",
                ("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                 "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"),
                # [tfds] datasets/imdb_reviews/checksums.tsv (its URL is the http:// one)
                "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                84125825,
                _TFDS.format("datasets/imdb_reviews/checksums.tsv"),
                extract="aclImdb",
            ),
        ), note="the raw reviews, unpacked to imdb/aclImdb/ (archive deleted afterwards)"),
    ),
    "shakespeare": (Bundle("shakespeare", "tiny", "tiny_shakespeare", (
        RemoteFile(
            "input.txt",
            ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",),
            # [tfds] datasets/tiny_shakespeare/checksums.tsv
            "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
            1115394,
            _TFDS.format("datasets/tiny_shakespeare/checksums.tsv"),
        ),
    ), note="Karpathy's tiny Shakespeare (load(..., source='tiny')); complete_works.txt has no single "
            "upstream file"),),
}

MANUAL: dict[str, str] = {
    "kjv": "no single upstream file: our text/kjv.txt is built from the Debian packages bible-kjv and "
    "bible-kjv-text (one verse a line with its reference). Put the text at <data dir>/text/kjv.txt by hand",
    "austen": "no single upstream file: our text/austen.txt concatenates the six novels of the Debian "
    "package r-cran-janeaustenr. Put the text at <data dir>/text/austen.txt by hand (Project Gutenberg's "
    "plain-text novels, concatenated, also work)",
}


def get_bundle(name: str, variant: str | None = None) -> Bundle:
    """The bundle of dataset ``name`` (``variant`` None: the default one). ValueError when there
    is none: the message says whether the dataset is manual-only or bundled with a package."""
    bundles = UPSTREAM.get(name)
    if not bundles:
        why = MANUAL.get(name, "it has no upstream download (scikit-learn sets are bundled with scikit-learn)")
        raise ValueError(f"dataset {name!r} cannot be downloaded: {why}. Downloadable: {', '.join(UPSTREAM)}")
    if variant is None:
        return bundles[0]
    for b in bundles:
        if b.variant == variant:
            return b
    raise ValueError(f"dataset {name!r} has no download variant {variant!r}; "
                     f"variants: {', '.join(b.variant for b in bundles)}")
