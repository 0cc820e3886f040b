"""Clustering study: spectral clustering vs k-means on two non-convex toy sets.

Coursework question: on two interleaved moons and two concentric circles, where k-means'
convex (Voronoi) clusters cannot separate the classes, does spectral clustering with a Gaussian
similarity graph recover them, and how does that depend on the width δ of the Gaussian?

Data: ``sklearn.datasets.make_moons`` / ``make_circles`` (generators only; n points, noise,
circles' inner/outer radius ratio ``factor``), two classes each. Learners
(:mod:`jaxml.classic`): k-means (k-means++, ``n_init`` vmapped restarts) on the raw points;
spectral clustering with similarity exp(−‖x−y‖²/(2δ²)) for each δ, fully connected (and
optionally kNN-sparsified), unnormalised L = D − A and symmetric L_sym = I − D^{-1/2}AD^{-1/2}
(rows of the eigenvector matrix scaled to unit length for L_sym), k-means on the first k = 2
eigenvectors. All δ values and seeds of one graph type run as ONE nested ``jax.vmap``.
Measures: accuracy under the best one-to-one matching of cluster ids to labels and the
adjusted Rand index (both :mod:`jaxml.classic.metrics`, the ARI checked against scikit-learn in
the tests). Reference: ``sklearn.cluster.SpectralClustering(affinity="rbf", gamma=1/(2δ²))``.

    python -m experiments.clustering                 # full
    python -m experiments.clustering --config=tiny   # seconds; used by the smoke test

Outputs: results.md, summary.json, similarity_<set>_delta<δ>.png (heatmaps, points ordered by
true class), assignments_<set>.png (scatter plots: truth, k-means, spectral per δ).
"""
from __future__ import annotations

import functools
import pathlib
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.classic import kmeans, spectral
from jaxml.classic.datasets import TOY_SETS, toy_set
from jaxml.classic.metrics import adjusted_rand_index, best_match_accuracy
from jaxml.report import markdown_table, mean_std, scatter_plot
from jaxml.report.heatmap import heatmap
from jaxml.study.config import check_choice, check_config
from jaxml.study.experiment import run_experiment, run_parts

NAME = "clustering"
PRESETS = ("full", "tiny")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.datasets = TOY_SETS
    c.n_points = 400
    c.noise = 0.06
    c.factor = 0.5
    c.data_seed = 0
    c.deltas = (0.1, 0.2, 0.5, 1.0)
    c.laplacians = ("unnormalized", "symmetric")
    c.n_neighbors = (0, 10)  # 0 = fully connected graph
    c.n_init = 10
    c.seeds = (0, 1, 2)
    c.sklearn_reference = True
    c.scatter_laplacian = "symmetric"
    c.heatmap_cells = 100  # similarity heatmaps show block means when N is larger (smaller PNGs)
    if preset == "tiny":
        c.n_points = 60
        c.deltas = (0.1, 1.0)
        c.laplacians = ("symmetric",)
        c.n_neighbors = (0,)
        c.n_init = 2
        c.seeds = (0,)
    return c


def validate(c) -> None:
    check_config(c, choices={"preset": PRESETS}, subsets={"datasets": TOY_SETS, "laplacians": spectral.LAPLACIANS},
                 nonempty=("seeds",), counts=("n_init",), positive=("deltas",), nonnegative=("noise",),
                 fractions=("factor",),
                 ranges={"n_points": (10, None), "n_neighbors": (0, c.n_points - 1), "heatmap_cells": (2, None)})
    check_choice(c, "scatter_laplacian", c.laplacians)  # after 'laplacians' itself is checked


def scores(y, labels) -> tuple[float, float]:
    return best_match_accuracy(y, labels), adjusted_rand_index(y, labels)


def run_set(c, name: str, workdir: pathlib.Path) -> tuple[str, dict]:
    x, y = toy_set(name, c.n_points, noise=c.noise, seed=c.data_seed, factor=c.factor)
    X = jnp.asarray(x)
    keys = jnp.stack([jax.random.PRNGKey(s) for s in c.seeds])
    deltas = jnp.asarray(c.deltas, jnp.float32)
    rows, out = [], {"spectral": {}, "kmeans": {}, "sklearn": {}}

    km = jax.vmap(lambda k: kmeans.fit(k, X, kmeans.KMeansConfig(n_clusters=2, n_init=c.n_init)))(keys)
    km_labels = np.asarray(km.labels_N)
    km_scores = np.array([scores(y, lab) for lab in km_labels])
    out["kmeans"] = {"accuracy": km_scores[:, 0].tolist(), "ari": km_scores[:, 1].tolist()}
    rows.append({"method": "k-means", "δ": None, "graph": None,
                 "accuracy": mean_std(km_scores[:, 0]), "ARI": mean_std(km_scores[:, 1]), "sklearn ARI": None})

    spectral_labels = {}
    for lap in c.laplacians:
        for knn in c.n_neighbors:
            cfg = spectral.SpectralConfig(n_clusters=2, laplacian=lap, n_neighbors=knn, n_init=c.n_init)
            fit_d = lambda k, d, cfg=cfg: spectral.fit(k, X, cfg.replace(delta=d))  # noqa: E731
            t0 = time.perf_counter()
            models = jax.vmap(jax.vmap(fit_d, in_axes=(0, None)), in_axes=(None, 0))(keys, deltas)  # (δ, seed)
            labels = np.asarray(models.labels_N)
            seconds = time.perf_counter() - t0
            graph = f"{lap}, " + (f"{knn}-NN" if knn else "full")
            for di, delta in enumerate(c.deltas):
                sc = np.array([scores(y, lab) for lab in labels[di]])
                out["spectral"][f"{graph}, δ={delta}"] = {"accuracy": sc[:, 0].tolist(), "ari": sc[:, 1].tolist(),
                                                          "vmapped_fit_seconds": seconds}
                ref = None
                if c.sklearn_reference and lap == "symmetric" and knn == 0:
                    ref = sklearn_spectral_ari(x, y, delta, c.seeds[0])
                    out["sklearn"][f"δ={delta}"] = ref
                rows.append({"method": "spectral", "δ": str(delta), "graph": graph,
                             "accuracy": mean_std(sc[:, 0]), "ARI": mean_std(sc[:, 1]), "sklearn ARI": ref})
                if lap == c.scatter_laplacian and knn == c.n_neighbors[0]:
                    spectral_labels[delta] = labels[di, 0]

    # Plots: similarity heatmaps (points ordered by class) and assignment scatter plots.
    order = display_order(x, y)
    for delta in c.deltas:
        A = block_average(np.asarray(spectral.affinity(X[order], delta)), c.heatmap_cells)
        note = f", {A.shape[0]}x{A.shape[0]} block means" if A.shape[0] < len(y) else ""
        heatmap(workdir / f"similarity_{name}_delta{delta}.png", A,
                title=f"{name}: exp(−‖x−y‖²/(2δ²)), δ={delta}{note}",
                xlabel="point (by class, then angle)", ylabel="point (by class, then angle)", fmt=None,
                vmin=0.0, vmax=1.0)
    scatter_plot(workdir / f"assignments_{name}_truth.png", x[:, 0], x[:, 1], y, title=f"{name}: true classes",
                 xlabel="x1", ylabel="x2")
    scatter_plot(workdir / f"assignments_{name}_kmeans.png", x[:, 0], x[:, 1], km_labels[0],
                 title=f"{name}: k-means (seed {c.seeds[0]}), ARI {km_scores[0, 1]:.3f}", xlabel="x1", ylabel="x2")
    for delta, lab in spectral_labels.items():
        scatter_plot(workdir / f"assignments_{name}_spectral_delta{delta}.png", x[:, 0], x[:, 1], lab,
                     title=f"{name}: spectral ({c.scatter_laplacian}), δ={delta}, "
                           f"ARI {adjusted_rand_index(y, lab):.3f}",
                     xlabel="x1", ylabel="x2")
    plots = " ".join(f"![{name} δ={d}](similarity_{name}_delta{d}.png)" for d in c.deltas)
    scatters = (f"![{name} truth](assignments_{name}_truth.png) ![{name} k-means](assignments_{name}_kmeans.png) "
                + " ".join(f"![{name} spectral δ={d}](assignments_{name}_spectral_delta{d}.png)" for d in c.deltas))
    text = (f"**Accuracy (best label matching) and adjusted Rand index**\n\n{markdown_table(rows)}\n\n"
            f"**Similarity matrices**\n\n{plots}\n\n**Assignments**\n\n{scatters}")
    return text, out


def block_average(A: np.ndarray, cells: int) -> np.ndarray:
    """A (N, N) matrix averaged over contiguous blocks to at most (cells, cells), for display."""
    n = A.shape[0]
    if n <= cells:
        return A
    starts = np.linspace(0, n, cells + 1).astype(int)[:-1]
    sizes = np.diff(np.append(starts, n))
    sums = np.add.reduceat(np.add.reduceat(A, starts, axis=0), starts, axis=1)
    return sums / np.outer(sizes, sizes)


def display_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Point order for the similarity heatmaps: by true class, then by angle around the class
    mean starting after the widest angular gap (so each moon or circle is walked end to end and
    the matrix shows its band structure)."""
    key = np.zeros(len(y))
    for cls in np.unique(y):
        centred = x[y == cls] - x[y == cls].mean(0)
        angle = np.arctan2(centred[:, 1], centred[:, 0])
        a = np.sort(angle)
        gaps = np.diff(np.concatenate([a, a[:1] + 2 * np.pi]))
        start = a[(np.argmax(gaps) + 1) % len(a)]
        key[y == cls] = np.mod(angle - start, 2 * np.pi)
    return np.lexsort((key, y))


def sklearn_spectral_ari(x, y, delta: float, seed: int) -> float:
    import warnings

    from sklearn.cluster import SpectralClustering

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "graph is not fully connected" for small δ
        ref = SpectralClustering(2, affinity="rbf", gamma=1.0 / (2 * delta * delta), random_state=seed).fit(x)
    return adjusted_rand_index(y, ref.labels_)


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    setup = (f"Sets {list(c.datasets)}, {c.n_points} points each, noise {c.noise}, circles factor {c.factor}, "
             f"data seed {c.data_seed}; δ ∈ {list(c.deltas)}; Laplacians {list(c.laplacians)}; graphs: "
             f"{['full' if k == 0 else f'{k}-NN' for k in c.n_neighbors]}; k = 2; k-means with {c.n_init} "
             f"restarts; seeds {list(c.seeds)} (mean ± std); sklearn reference: SpectralClustering(affinity='rbf', "
             f"gamma=1/(2δ²), random_state={c.seeds[0]}). Preset `{c.preset}`; wall times include compilation.")
    parts = {name: (name, functools.partial(run_set, c, name)) for name in c.datasets}
    return run_parts("Spectral clustering vs k-means", parts, c.datasets, workdir, [("Setup", setup)],
                     part_dirs=False)


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
