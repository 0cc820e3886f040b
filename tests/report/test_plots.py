"""Plots: valid PNG files of the documented size, and figure contents (lines, labels, bars)."""
import struct

import jax.numpy as jnp
import numpy as np
import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from jaxml.report import plots


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_line_plot_writes_png_of_default_size(tmp_path):
    path = tmp_path / "plots" / "loss.png"
    x = np.arange(1, 21)
    out = plots.line_plot(
        path, {"train": (x, 1.0 / x), "val": (x, jnp.asarray(1.2 / x))},
        title="Loss", xlabel="epoch", ylabel="loss", logy=True,
    )
    assert out == path
    assert png_size(path) == (768, 576)  # 6.4 x 4.8 inches at 120 dpi
    assert path.stat().st_size > 5000
    assert sorted(p.name for p in path.parent.iterdir()) == ["loss.png"]  # no temp file left


def test_line_figure_markers_bands_and_labels():
    x = np.arange(1, 21)
    fig = plots.make_line_figure(
        {"train": (x, 1.0 / x), "val": (x, 1.2 / x)},
        title="Fashion-MNIST MLP", xlabel="epoch", ylabel="loss",
        markers={"early stop (patience 5)": 12},
        bands={"val": (x, 1.1 / x, 1.3 / x), "random": (x, 0.9 + 0 * x, np.ones(20))},
        logx=True,
    )
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 3  # two curves, one marker
    marker = lines[2]
    assert marker.get_label() == "early stop (patience 5)"
    assert marker.get_linestyle() == "--"
    assert list(marker.get_xdata()) == [12.0, 12.0]
    assert len(ax.collections) == 2  # two shaded bands
    # A band named like a curve shares its colour and has no legend entry of its own.
    assert np.allclose(ax.collections[0].get_facecolor()[0][:3], _rgb(lines[1].get_color()))
    assert legend_texts(ax) == ["train", "val", "random", "early stop (patience 5)"]
    assert ax.get_title() == "Fashion-MNIST MLP"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    assert any(line.get_visible() for line in ax.get_xgridlines())


def _rgb(color):
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def test_line_figure_rejects_mismatched_curve():
    with pytest.raises(ValueError, match="'val'.*3 x values but 2 y values"):
        plots.make_line_figure({"val": ([1, 2, 3], [1, 2])}, title="t", xlabel="x", ylabel="y")


def test_bar_plot(tmp_path):
    groups = ["0°", "90°", "180°"]
    series = {"mlp": ([0.9, 0.3, 0.2], [0.01, 0.02, 0.03]), "cnn": ([0.95, 0.4, 0.3], None)}
    fig = plots.make_bar_figure(groups, series, title="Rotation", ylabel="accuracy")
    (ax,) = fig.axes
    assert len(ax.patches) == 6
    assert [t.get_text() for t in ax.get_xticklabels()] == groups
    assert legend_texts(ax) == ["mlp", "cnn"]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert bars[0].errorbar is not None and bars[1].errorbar is None  # stds -> error bars
    heights = sorted(p.get_height() for p in ax.patches)
    np.testing.assert_allclose(heights, sorted([0.9, 0.3, 0.2, 0.95, 0.4, 0.3]))
    path = plots.bar_plot(tmp_path / "bars.png", groups, series, title="Rotation", ylabel="accuracy")
    assert png_size(path) == (768, 576)
    with pytest.raises(ValueError, match="'cnn' has 2 means for 3 groups"):
        plots.make_bar_figure(groups, {"cnn": ([1, 2], None)}, title="t", ylabel="y")


def test_image_grid_sizes_and_contents(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((10, 28, 28)).astype(np.float32)
    path = plots.image_grid(tmp_path / "g.png", images, nrows=2, titles=[str(i) for i in range(10)],
                            title="VAE samples")
    assert png_size(path) == (5 * 180, 2 * 180 + 48)  # 1.5-inch cells, 0.4-inch title band
    fig = plots.make_image_grid_figure(images, nrows=3)  # ncols = ceil(10 / 3) = 4
    assert len(fig.axes) == 12
    assert sum(len(ax.images) for ax in fig.axes) == 10
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), images[0])
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0)  # absolute gray levels
    rgb = (rng.random((4, 8, 8, 3)) * 255).astype(np.uint8)
    path = plots.image_grid(tmp_path / "rgb.png", rgb, nrows=1)
    assert png_size(path) == (4 * 180, 180)


def test_image_grid_errors():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plots.make_image_grid_figure(np.full((2, 4, 4), 2.0), nrows=1)
    with pytest.raises(ValueError, match="do not fit"):
        plots.make_image_grid_figure(np.zeros((5, 4, 4)), nrows=2, ncols=2)
    with pytest.raises(ValueError, match="shape"):
        plots.make_image_grid_figure(np.zeros((4, 4)), nrows=1)


def test_scatter_plot(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 300))
    labels = np.arange(300) % 3
    fig = plots.make_scatter_figure(
        x, y, jnp.asarray(labels), title="latent space", xlabel="z1", ylabel="z2",
        label_names=["T-shirt", "Trouser", "Pullover"],
    )
    (ax,) = fig.axes
    assert legend_texts(ax) == ["T-shirt", "Trouser", "Pullover"]
    assert [len(c.get_offsets()) for c in ax.collections] == [100, 100, 100]
    continuous = plots.make_scatter_figure(x, y, x * y, title="t", xlabel="a", ylabel="b")
    assert len(continuous.axes) == 2  # the axes and its colorbar
    path = plots.scatter_plot(tmp_path / "s.png", x, y, labels, title="t", xlabel="a", ylabel="b")
    assert png_size(path) == (768, 576)
    with pytest.raises(ValueError, match="label 2"):
        plots.make_scatter_figure(x, y, labels, title="t", xlabel="a", ylabel="b", label_names=["a", "b"])
