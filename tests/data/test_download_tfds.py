"""The other route to data: a prepared tensorflow_datasets build in array_record format.

``load`` falls back to ``tfds.data_source(<build>, split, data_dir=$TFDS_DATA_DIR, download=False)``
when ``<data dir>/<name>/`` lacks the files (jaxml.data.sources). The builds read are ``mnist``,
``fashion_mnist``, ``cifar10`` and ``imdb_reviews`` (default config ``plain_text``), each at
``<tfds dir>/<build>/[<config>/]<version>/`` holding ``dataset_info.json``, ``features.json`` and
``<build>-<split>.array_record-NNNNN-of-NNNNN`` shards (random access needs array_record; a
TFRecord build is refused with tfds' own message). These tests write such builds for real
(tfds' serializer and array_record's writer, no TensorFlow) and read them through ``load``.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from jaxml.data import load
from jaxml.testing import fake_files as writers

tfds = pytest.importorskip("tensorflow_datasets")
array_record_module = pytest.importorskip("array_record.python.array_record_module")


def write_build(tfds_dir, build: str, examples: dict[str, list[dict]]) -> None:
    """A prepared array_record build of the registered tfds builder ``build`` with these examples."""
    from tensorflow_datasets.core import splits as splits_lib

    builder = tfds.builder(build, data_dir=str(tfds_dir), file_format="array_record")
    path = builder.data_path
    path.mkdir(parents=True, exist_ok=True)
    infos = []
    for split, rows in examples.items():
        template = tfds.core.ShardedFileTemplate(data_dir=path, dataset_name=build, split=split,
                                                 filetype_suffix="array_record")
        shard = template.sharded_filepath(shard_index=0, num_shards=1)
        writer = array_record_module.ArrayRecordWriter(str(shard), "group_size:1")
        for row in rows:
            writer.write(builder.info.features.serialize_example(row))
        writer.close()
        infos.append(splits_lib.SplitInfo(name=split, shard_lengths=[len(rows)], num_bytes=os.path.getsize(shard),
                                          filename_template=template))
    builder.info.set_splits(splits_lib.SplitDict(infos))
    builder.info.write_to_directory(path)


def _png(image: np.ndarray):
    """A PIL image (tfds encodes numpy images with TensorFlow, PIL images without it)."""
    from PIL import Image

    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def _images(n, shape, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, *shape), dtype=np.uint8), rng.integers(0, 10, n)


@pytest.mark.parametrize("name,shape", [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))])
def test_image_builds_are_read_when_files_are_missing(tmp_path, name, shape):
    x, y = _images(7, shape, seed=1)

    def row(i, split):  # tfds' cifar10 build also stores an "id" text feature
        return {"image": _png(x[i]), "label": int(y[i]), **({"id": f"{split}_{i:05d}"} if name == "cifar10" else {})}

    write_build(tmp_path / "tfds", name, {"train": [row(i, "train") for i in range(7)],
                                          "test": [row(i, "test") for i in range(2)]})
    ds = load(name, "train", data_dir=tmp_path / "empty", tfds_data_dir=tmp_path / "tfds")
    assert ds.x.dtype == np.uint8 and ds.x.shape == (7, *shape)
    np.testing.assert_array_equal(ds.x, x)  # PNG in the build: lossless
    np.testing.assert_array_equal(ds.y, y)
    assert load(name, "test", data_dir=tmp_path / "empty", tfds_data_dir=tmp_path / "tfds").x.shape == (2, *shape)


def test_imdb_reviews_build_is_tokenised_like_aclimdb(tmp_path, monkeypatch):
    reviews = writers.ACL_REVIEWS
    rows = {s: [{"text": reviews[k], "label": int(k[1] == "pos")} for k in sorted(reviews, key=lambda k: k[1] == "neg")
                if k[0] == s] for s in ("train", "test")}
    write_build(tmp_path / "tfds", "imdb_reviews", rows)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    from_tfds = load("imdb", "train", data_dir=tmp_path / "empty")
    from_acl = load("imdb", "train", data_dir=writers.write_acl(tmp_path / "acl").parents[1])
    assert [list(a) for a in from_tfds.x] == [list(a) for a in from_acl.x]
    assert list(from_tfds.y) == list(from_acl.y) == [1, 1, 0]
