#!/usr/bin/env python
"""Fit time of jaxml's classical learners vs scikit-learn, and vmapped grids vs Python loops.

Contestants, run INTERLEAVED per repeat in one process (``common.interleave``), compile time
measured separately and excluded, every JAX call blocked on, medians of ``--repeats``:

1. k-means, N = 100,000 points in D = 16 (10 overlapping Gaussian blobs), k = 10, ``n_init``
   restarts (default 3), max_iter 300, tol 1e-4: ``jaxml.classic.kmeans.fit`` (restarts vmapped)
   vs ``sklearn.cluster.KMeans(algorithm="lloyd")`` (OpenMP over the machine's cores).
   Reported: fit-time ratio sklearn / jaxml, Lloyd iterations of both, inertia ratio.
2. RBF SVM, N = 5,000 points (``make_classification``, 20 features, 2 classes), C = 1,
   γ = 0.05, tol 1e-3: ``jaxml.classic.svm.fit`` (SMO on a precomputed float32 kernel matrix,
   whose computation is included in the time) vs ``sklearn.svm.SVC`` (LIBSVM, kernel cached).
   Reported: ratio, SMO iterations of both, test-prediction agreement.
3. Vmapped hyperparameter grids vs a Python loop over the same compiled single fit (no
   recompiles: the swept values are pytree leaves): SVM C x γ = 4 x 4 on 1,000 points;
   AdaBoost (SAMME, 100 stumps) over 4 learning rates on breast_cancer; the perceptron over
   10 seeds (5 passes over digits); k-means 10 restarts of 20,000 points vs 10
   single-restart calls. The figure is loop time / vmapped time
   (> 1: vmap is faster). scikit-learn's own loop over the SVM grid is timed as a reference.

Usage: ``python -m bench.classic [--repeats 5] [--quick]``; writes ``bench/results/classic.json``
and prints Markdown tables (copied into ``bench/results/classic.md``).
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time
import warnings

if __package__ in (None, ""):  # run as a file (python bench/classic.py): make `bench` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench import common

HERE = pathlib.Path(__file__).resolve().parent


def _block(x):
    import jax

    return jax.block_until_ready(x)


# ----------------------------------------------------------------------------- 1. k-means

def kmeans_case(n: int, d: int, k: int, n_init: int, seed: int = 0) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_blobs

    from jaxml.classic import kmeans

    X, _ = make_blobs(n, d, centers=k, cluster_std=4.0, center_box=(-10, 10), random_state=seed)
    X = X.astype(np.float32)
    Xj = jnp.asarray(X)
    cfg = kmeans.KMeansConfig(n_clusters=k, n_init=n_init, max_iter=300, tol=1e-4)
    key = jax.random.PRNGKey(seed)
    compiled, compile_s = common.compile_jitted(kmeans._fit, key, Xj, cfg)
    state = {}

    def ours():
        state["jax"] = _block(compiled(key, Xj, cfg))
        return state["jax"]

    def theirs():
        state["sk"] = KMeans(k, n_init=n_init, max_iter=300, tol=1e-4, algorithm="lloyd", random_state=seed).fit(X)
        return state["sk"]

    def theirs_1thread():
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return KMeans(k, n_init=n_init, max_iter=300, tol=1e-4, algorithm="lloyd", random_state=seed).fit(X)

    return {"contestants": {"jaxml kmeans": ours, "sklearn KMeans": theirs,
                            "sklearn KMeans (1 thread)": theirs_1thread}, "compile_seconds": compile_s,
            "after": lambda: {"jaxml_iterations_best_run": int(state["jax"].n_iter),
                              "sklearn_iterations_best_run": int(state["sk"].n_iter_),
                              "inertia_ratio_jaxml_over_sklearn": float(state["jax"].inertia) / state["sk"].inertia_},
            "settings": {"n": n, "d": d, "k": k, "n_init": n_init, "max_iter": 300, "tol": 1e-4,
                         "data": "make_blobs, cluster_std 4, center_box (-10, 10)"}}


# ----------------------------------------------------------------------------- 2. RBF SVM

def svm_case(n: int, seed: int = 0, C: float = 1.0, gamma: float = 0.05) -> dict:
    import jax.numpy as jnp
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.svm import SVC

    from jaxml.classic import svm

    X, y = make_classification(n + 1000, 20, n_informative=10, flip_y=0.05, random_state=seed)
    X, y = X.astype(np.float32), y.astype(np.int32)
    Xtr, ytr, Xte = jnp.asarray(X[:n]), jnp.asarray(y[:n]), X[n:]
    cfg = svm.SVMConfig(num_classes=2, kernel="rbf", C=C, gamma=gamma, tol=1e-3)
    compiled, compile_s = common.compile_jitted(svm._fit, Xtr, ytr, cfg)
    state = {}

    def ours():
        state["jax"] = _block(compiled(Xtr, ytr, cfg))
        return state["jax"]

    def theirs():
        state["sk"] = SVC(C=C, gamma=gamma, tol=1e-3).fit(X[:n], y[:n])
        return state["sk"]

    def after():
        pred = np.asarray(svm.predict(state["jax"], jnp.asarray(Xte)))
        return {"jaxml_smo_iterations": int(state["jax"].n_iter_P[0]),
                "sklearn_iterations": int(state["sk"].n_iter_[0]),
                "test_prediction_agreement": float(np.mean(pred == state["sk"].predict(Xte))),
                "jaxml_support_vectors": int(len(svm.support_indices(state["jax"]))),
                "sklearn_support_vectors": int(len(state["sk"].support_))}

    return {"contestants": {"jaxml SVM (rbf)": ours, "sklearn SVC (rbf)": theirs}, "compile_seconds": compile_s,
            "after": after, "settings": {"n_train": n, "features": 20, "C": C, "gamma": gamma, "tol": 1e-3,
                                         "data": "make_classification(n_informative=10, flip_y=0.05)"}}


# ----------------------------------------------------------------------------- 3. vmap vs loop

def grid_cases(svm_n: int, km_n: int, seed: int = 0) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from sklearn.datasets import make_blobs, make_classification
    from sklearn.svm import SVC

    from jaxml.classic import adaboost, kmeans, svm
    from jaxml.classic.datasets import tabular_split

    out = {}
    # SVM C x gamma.
    X, y = make_classification(svm_n, 20, n_informative=10, flip_y=0.05, random_state=seed)
    X, y = X.astype(np.float32), y.astype(np.int32)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    Cs, gammas = (0.1, 1.0, 10.0, 100.0), (0.001, 0.01, 0.1, 1.0)
    CC, GG = (jnp.asarray(a.ravel()) for a in np.meshgrid(np.float32(Cs), np.float32(gammas), indexing="ij"))
    base = svm.SVMConfig(num_classes=2, kernel="rbf")
    # Data are arguments, never closed-over constants (XLA would constant-fold them at compile time).
    single = jax.jit(lambda C, g, X, Y: svm._fit(X, Y, base.replace(C=C, gamma=g)))
    grid = jax.jit(jax.vmap(lambda C, g, X, Y: svm._fit(X, Y, base.replace(C=C, gamma=g)), in_axes=(0, 0, None, None)))
    c_single, s1 = common.compile_jitted(single, CC[0], GG[0], Xj, yj)
    c_grid, s2 = common.compile_jitted(grid, CC, GG, Xj, yj)

    def sk_loop():
        for C in Cs:
            for g in gammas:
                SVC(C=C, gamma=g, tol=1e-3).fit(X, y)

    iters = np.asarray(c_grid(CC, GG, Xj, yj).n_iter_P)[:, 0]

    out["svm"] = {"contestants": {"SVM grid vmapped": lambda: _block(c_grid(CC, GG, Xj, yj)),
                                  "SVM grid python loop":
                                      lambda: [_block(c_single(C, g, Xj, yj)) for C, g in zip(CC, GG)],
                                  "SVM grid sklearn loop": sk_loop},
                  "compile_seconds": {"single": s1, "vmapped": s2},
                  "after": lambda: {"smo_iterations_max": int(iters.max()), "smo_iterations_sum": int(iters.sum()),
                                    "vmapped_work_over_loop_work": float(len(iters) * iters.max() / iters.sum())},
                  "settings": {"n": svm_n, "grid": f"C {list(Cs)} x gamma {list(gammas)} (16 fits)"}}
    # AdaBoost learning rates.
    data = tabular_split("breast_cancer")
    xa, ya = (jnp.asarray(a) for a in data["train"])
    lrs = jnp.asarray([0.1, 0.25, 0.5, 1.0])
    acfg = adaboost.AdaBoostConfig(num_classes=2, n_estimators=100)
    a_single = jax.jit(lambda lr, X, Y: adaboost._fit(X, Y, acfg.replace(learning_rate=lr)))
    a_grid = jax.jit(jax.vmap(lambda lr, X, Y: adaboost._fit(X, Y, acfg.replace(learning_rate=lr)),
                              in_axes=(0, None, None)))
    ca1, t1 = common.compile_jitted(a_single, lrs[0], xa, ya)
    ca2, t2 = common.compile_jitted(a_grid, lrs, xa, ya)
    out["adaboost"] = {"contestants": {"AdaBoost lrs vmapped": lambda: _block(ca2(lrs, xa, ya)),
                                       "AdaBoost lrs python loop": lambda: [_block(ca1(lr, xa, ya)) for lr in lrs]},
                       "compile_seconds": {"single": t1, "vmapped": t2},
                       "settings": {"data": f"breast_cancer train ({xa.shape[0]} x {xa.shape[1]})",
                                    "n_estimators": 100, "learning_rates": [0.1, 0.25, 0.5, 1.0]}}
    # Perceptron restarts (example orders), digits.
    from jaxml.classic import perceptron

    digits = tabular_split("digits")
    xp, yp = (jnp.asarray(a) for a in digits["train"])
    pcfg = perceptron.PerceptronConfig(num_classes=10, passes=5)
    pkeys = jax.random.split(jax.random.PRNGKey(seed), 10)
    p_single = jax.jit(lambda k, X, Y: perceptron._fit(k, X, Y, pcfg))
    p_grid = jax.jit(jax.vmap(lambda k, X, Y: perceptron._fit(k, X, Y, pcfg), in_axes=(0, None, None)))
    cp1, v1 = common.compile_jitted(p_single, pkeys[0], xp, yp)
    cp2, v2 = common.compile_jitted(p_grid, pkeys, xp, yp)
    out["perceptron"] = {"contestants": {"perceptron 10 seeds vmapped": lambda: _block(cp2(pkeys, xp, yp)),
                                         "perceptron 10 seeds python loop": lambda: [_block(cp1(k, xp, yp))
                                                                                     for k in pkeys]},
                         "compile_seconds": {"single": v1, "vmapped": v2},
                         "settings": {"data": f"digits train ({xp.shape[0]} x {xp.shape[1]})", "passes": 5,
                                      "seeds": 10}}
    # k-means restarts.
    Xk = jnp.asarray(make_blobs(km_n, 16, centers=10, cluster_std=4.0, center_box=(-10, 10),
                                random_state=seed)[0].astype(np.float32))
    kcfg = kmeans.KMeansConfig(n_clusters=10, n_init=10)
    keys = jax.random.split(jax.random.PRNGKey(seed), 10)
    ck_grid, u1 = common.compile_jitted(kmeans._fit, jax.random.PRNGKey(seed), Xk, kcfg)
    ck_single, u2 = common.compile_jitted(kmeans._fit_single, keys[0], Xk, kcfg)
    out["kmeans"] = {"contestants": {"k-means 10 restarts vmapped":
                                         lambda: _block(ck_grid(jax.random.PRNGKey(seed), Xk, kcfg)),
                                     "k-means 10 restarts python loop":
                                         lambda: [_block(ck_single(k, Xk, kcfg)) for k in keys]},
                     "compile_seconds": {"single": u2, "vmapped": u1},
                     "settings": {"n": km_n, "d": 16, "k": 10, "restarts": 10}}
    return out


# ----------------------------------------------------------------------------- driver

PAIRS = [  # (case, numerator (slower is better for jaxml when > 1), denominator, what the ratio means)
    ("kmeans", "sklearn KMeans", "jaxml kmeans", "sklearn time / jaxml time"),
    ("kmeans", "sklearn KMeans (1 thread)", "jaxml kmeans", "sklearn (1 thread) time / jaxml time"),
    ("svm", "sklearn SVC (rbf)", "jaxml SVM (rbf)", "sklearn time / jaxml time"),
    ("grid_svm", "SVM grid python loop", "SVM grid vmapped", "loop time / vmapped time"),
    ("grid_svm", "SVM grid sklearn loop", "SVM grid vmapped", "sklearn loop time / jaxml vmapped time"),
    ("grid_adaboost", "AdaBoost lrs python loop", "AdaBoost lrs vmapped", "loop time / vmapped time"),
    ("grid_perceptron", "perceptron 10 seeds python loop", "perceptron 10 seeds vmapped", "loop time / vmapped time"),
    ("grid_kmeans", "k-means 10 restarts python loop", "k-means 10 restarts vmapped", "loop time / vmapped time"),
]


def run(*, kmeans_n=100_000, kmeans_init=3, svm_n=5_000, grid_svm_n=1_000, grid_km_n=20_000, repeats=5, warmup=1,
        log=print) -> dict:
    import jax

    t_start = time.perf_counter()
    cases = {}
    log(f"[bench/classic] preparing k-means ({kmeans_n} points), SVM ({svm_n} points), grids ...")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases["kmeans"] = kmeans_case(kmeans_n, 16, 10, kmeans_init)
        cases["svm"] = svm_case(svm_n)
        for name, case in grid_cases(grid_svm_n, grid_km_n).items():
            cases[f"grid_{name}"] = case
        load_before = common.load_average()
        raw = {}
        for name, case in cases.items():
            log(f"[bench/classic] timing {name}: {list(case['contestants'])} interleaved, {repeats} repeats")
            raw.update(common.interleave(case["contestants"], repeats=repeats, warmup=warmup))
    load_after = common.load_average()
    comparisons = []
    for case, num, den, meaning in PAIRS:
        r = common.ratio(raw[num], raw[den])
        comparisons.append({"case": case, "numerator": num, "denominator": den, "meaning": meaning,
                            "ratio": r["of_medians"], "paired": r})
    return {
        "benchmark": "classic",
        "date": common.now(),
        "settings": {name: case["settings"] for name, case in cases.items()} | {"repeats": repeats, "warmup": warmup,
                                                                               "jax_platform": jax.default_backend()},
        "machine": {**common.machine(), "load_average_before_timing": load_before,
                    "load_average_after_timing": load_after},
        "versions": common.versions("sklearn"),
        "compile_seconds": {name: case["compile_seconds"] for name, case in cases.items()},
        "details": {name: case["after"]() for name, case in cases.items() if "after" in case},
        "seconds": {name: common.spread(ts) for name, ts in raw.items()},
        "raw_seconds": raw,
        "comparisons": comparisons,
        "total_seconds": time.perf_counter() - t_start,
    }


def tables(res: dict) -> str:
    rows = [[name, s["median"], s["min"], s["max"], f"{100 * s['rel_iqr']:.0f}%"] for name, s in res["seconds"].items()]
    out = [common.markdown_table(["contestant", "median s", "min s", "max s", "IQR/median"], rows)]
    rows = [[c["numerator"] + " / " + c["denominator"], c["ratio"], c["paired"]["paired_median"],
             f"{common.fmt(c['paired']['paired_min'])}–{common.fmt(c['paired']['paired_max'])}", c["meaning"]]
            for c in res["comparisons"]]
    out.append(common.markdown_table(["comparison", "ratio (of medians)", "median paired ratio", "paired range",
                                      "meaning"], rows))
    rows = [[name, ", ".join(f"{k} {v}" for k, v in d.items())] for name, d in res["details"].items()]
    out.append(common.markdown_table(["case", "details"], rows))
    rows = []
    for name, cs in res["compile_seconds"].items():
        rows.append([name, cs if isinstance(cs, float) else ", ".join(f"{k} {common.fmt(v)}" for k, v in cs.items())])
    out.append(common.markdown_table(["case", "compile s"], rows))
    return "\n\n".join(out)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="timed rounds (median reported); default 5")
    p.add_argument("--quick", action="store_true", help="small sizes: 20k k-means points, 1k SVM points, 3 repeats")
    p.add_argument("--out", default=str(HERE / "results" / "classic.json"), help="JSON output path ('' = none)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from jaxml.cpu_memory import keep_freed_memory_on_cpu

    keep_freed_memory_on_cpu()  # on a CPU: malloc keeps freed memory (jaxml.cpu_memory), for every contestant
    if args.quick:
        res = run(kmeans_n=20_000, svm_n=1_000, grid_svm_n=300, grid_km_n=5_000, repeats=min(args.repeats, 3))
    else:
        res = run(repeats=args.repeats)
    m = res["machine"]
    print(f"\n## bench/classic.py — {res['date']}\n")
    print(f"{m['cpu_model']}, {m['cpus_usable']} usable cores, load average {m['load_average_1_5_15']}; "
          + ", ".join(f"{k} {v}" for k, v in res["versions"].items() if v) + "\n")
    print(tables(res))
    if args.out:
        path = common.write_json(args.out, res)
        print(f"\nwrote {path} ({res['total_seconds']:.0f} s in all)")
    return res


if __name__ == "__main__":
    main()
