"""Random search: sampling from uniform / log-uniform ranges, runs as one program, joining runs."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.mlp import MLP
from jaxml.train import fit, make_optimizer
from jaxml.train.runs import concat_runs, make_random_runs, make_runs, sample_space, unstack

MODEL = MLP(hidden_sizes=(3,), output_size=2)
X1 = jnp.zeros((1, 2))
SPACE = {"learning_rate": ("log_uniform", 1e-4, 1.0), "momentum": ("uniform", 0.5, 0.9)}


def test_sample_space_ranges_distribution_and_seed():
    draws = sample_space(SPACE, 4000, seed=3)
    lr, mom = draws["learning_rate"], draws["momentum"]
    assert lr.shape == mom.shape == (4000,)
    assert lr.min() >= 1e-4 and lr.max() < 1.0 and mom.min() >= 0.5 and mom.max() < 0.9
    # Log-uniform: log10(lr) uniform on [-4, 0): each decade holds about a quarter of the draws.
    counts = np.histogram(np.log10(lr), bins=4, range=(-4, 0))[0]
    np.testing.assert_allclose(counts / 4000, 0.25, atol=0.03)
    counts = np.histogram(mom, bins=4, range=(0.5, 0.9))[0]
    np.testing.assert_allclose(counts / 4000, 0.25, atol=0.03)
    # Seeded; a prefix of a longer search is the shorter search.
    again = sample_space(SPACE, 10, seed=3)
    np.testing.assert_array_equal(again["learning_rate"], lr[:10])
    assert not np.allclose(sample_space(SPACE, 10, seed=4)["learning_rate"], again["learning_rate"])
    # Independent of numpy's global state.
    np.random.seed(0)
    np.testing.assert_array_equal(sample_space(SPACE, 10, seed=3)["momentum"], mom[:10])


@pytest.mark.parametrize("space, trials, match", [
    ({"learning_rate": ("normal", 0.0, 1.0)}, 3, "distribution"),
    ({"learning_rate": ("log_uniform", 0.0, 1.0)}, 3, "low > 0"),
    ({"learning_rate": ("uniform", 1.0, 0.5)}, 3, "low < high"),
    ({"learning_rate": (1e-3, 1.0)}, 3, "learning_rate"),
    ({}, 3, "non-empty"),
    (SPACE, 0, "trials"),
])
def test_bad_space_is_named(space, trials, match):
    with pytest.raises(ValueError, match=match):
        sample_space(space, trials)


def test_random_runs_set_the_sampled_values_per_run_and_share_init_per_seed():
    tx = make_optimizer({"name": "momentum", "learning_rate": 0.1, "momentum": 0.5})
    runs = make_random_runs(MODEL, tx, X1, seeds=(0, 1), space=SPACE, trials=3, search_seed=7)
    draws = sample_space(SPACE, 3, seed=7)
    assert runs.num_runs == 6 and runs.shape == (3, 2) and runs.axes == {"trial": (0, 1, 2)}
    assert [(r["trial"], r["seed"]) for r in runs.info] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    hyper = runs.state.opt_state.hyperparams
    np.testing.assert_allclose(runs.reshape(np.asarray(hyper["learning_rate"]))[:, 0], draws["learning_rate"],
                               rtol=1e-6)
    np.testing.assert_allclose(runs.reshape(np.asarray(hyper["momentum"]))[:, 1], draws["momentum"], rtol=1e-6)
    assert runs.info[2]["learning_rate"] == pytest.approx(draws["learning_rate"][1])
    # Common random numbers: the same seed starts from the same weights in every trial, as in make_runs.
    grid = make_runs(MODEL, tx, X1, seeds=(0, 1))
    for r, rec in enumerate(runs.info):
        jax.tree_util.tree_map(np.testing.assert_array_equal, unstack(runs.state.params, r),
                               unstack(grid.state.params, rec["seed"]))
    with pytest.raises(ValueError, match="seed"):
        make_random_runs(MODEL, tx, X1, seeds=(), space=SPACE, trials=2)


def test_weight_scale_can_be_searched():
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.1})
    runs = make_random_runs(MODEL, tx, X1, seeds=(0,), space={"weight_scale": ("uniform", 2.0, 3.0)}, trials=2)
    base = make_runs(MODEL, tx, X1, seeds=(0,))
    k = np.asarray(runs.state.params["hidden_0"]["kernel"])
    k0 = np.asarray(base.state.params["hidden_0"]["kernel"][0])
    for t in range(2):
        np.testing.assert_allclose(k[t], runs.info[t]["weight_scale"] * k0, rtol=1e-6)


def test_concat_runs_trains_searches_as_one_program_like_separately():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    data = {"x": x, "y": (x[:, 0] > 0).astype(np.int32)}
    tx = make_optimizer({"name": "momentum", "learning_rate": 0.1, "momentum": 0.5})
    a = make_random_runs(MODEL, tx, X1, seeds=(0,), space=SPACE, trials=2, search_seed=0)
    b = make_runs(MODEL, tx, X1, seeds=(1,), grid={"learning_rate": (0.05,)})
    both = concat_runs([a, b], tags=[{"search": "random"}, {"search": "grid"}])
    assert both.num_runs == 3 and both.seeds == (0, 1)
    assert [r["search"] for r in both.info] == ["random", "random", "grid"] and both.info[2]["learning_rate"] == 0.05
    kw = dict(epochs=2, batch_size=10, progress=False)
    # Joined states are the parts' states; training them together equals training a part alone.
    jax.tree_util.tree_map(np.testing.assert_array_equal, unstack(both.state.params, 2), unstack(b.state.params, 0))
    together = fit(both, data, **kw).final("train_loss")
    np.testing.assert_allclose(together[:2], fit(a, data, **kw).final("train_loss"), rtol=1e-5)
    assert not np.isclose(together[0], together[1])            # different sampled settings train differently
    np.testing.assert_array_equal(both.group(np.arange(3), "search")["random"], [0, 1])
    other = make_runs(MODEL, make_optimizer({"name": "sgd", "learning_rate": 0.1}), X1, seeds=(0,))
    with pytest.raises(ValueError, match="same model"):
        concat_runs([a, other])
    with pytest.raises(ValueError, match="tags"):
        concat_runs([a, b], tags=[{}])
