"""Heatmaps: a valid PNG, cell values and labels placed where stated, annotation rules, errors."""
import struct

import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.report.heatmap import MAX_ANNOTATED_CELLS, heatmap, make_heatmap_figure


def test_heatmap_writes_png_of_default_size(tmp_path):
    path = tmp_path / "grid" / "acc.png"
    out = heatmap(path, jnp.asarray([[0.9, 0.95], [0.8, 0.85], [0.7, 0.75]]), [10, 50, 100], [0.1, 1.0],
                  title="accuracy", xlabel="learning rate", ylabel="n_estimators", fmt=".2f")
    assert out == path
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (768, 576)
    assert sorted(p.name for p in path.parent.iterdir()) == ["acc.png"]


def test_heatmap_cells_labels_and_annotations():
    m = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]])
    fig = make_heatmap_figure(m, ["a", "b"], ["x", "y", "z"], title="T", xlabel="cols", ylabel="rows", fmt=".1f")
    ax = fig.axes[0]
    image = ax.get_images()[0]
    shown = image.get_array()
    assert shown.shape == (2, 3) and shown[1, 2] == 6.0 and bool(shown.mask[1, 1])  # NaN masked
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    texts = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert ((2, 1), "6.0") in texts and ((0, 0), "1.0") in texts
    assert len(ax.texts) == 5  # the NaN cell is blank
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("T", "cols", "rows")
    assert len(fig.axes) == 2  # the colorbar


def test_heatmap_without_labels_or_text_and_large_matrices_unannotated():
    fig = make_heatmap_figure(np.eye(3), title="t", xlabel="x", ylabel="y", fmt=None)
    assert len(fig.axes[0].texts) == 0
    n = int(np.ceil(np.sqrt(MAX_ANNOTATED_CELLS))) + 1
    fig = make_heatmap_figure(np.ones((n, n)), title="t", xlabel="x", ylabel="y", fmt=".2f")
    assert len(fig.axes[0].texts) == 0


def test_heatmap_bad_input_is_named():
    with pytest.raises(ValueError, match="2-d matrix"):
        make_heatmap_figure(np.ones(3), title="t", xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="3 row labels for 2 rows"):
        make_heatmap_figure(np.ones((2, 2)), ["a", "b", "c"], None, title="t", xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="1 column labels for 2 columns"):
        make_heatmap_figure(np.ones((2, 2)), None, ["a"], title="t", xlabel="x", ylabel="y")
