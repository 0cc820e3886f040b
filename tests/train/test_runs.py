"""Many runs as one program: vmapped seeds and sweeps equal separate runs."""
import jax
import numpy as np
import pytest

from jaxml.train import EarlyStopping, Runs, fit, make_runs, seed_keys, unstack

BATCH, STEPS, EPOCHS = 32, 8, 3


def assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(leaves_a) == len(leaves_b)
    for x, y in zip(leaves_a, leaves_b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def single_fit(tiny, model, tx, seed, train, **kw):
    state, key = tiny.init_state(model, tx, seed=seed)
    return fit(state, train, key=key, epochs=EPOCHS, batch_size=BATCH, progress=False, **kw)


def test_seed_keys_match_make_runs(tiny, model):
    runs = make_runs(model, tiny.sgd(0.05), np.zeros((1, 8), np.float32), seeds=[0, 7])
    for r, seed in enumerate([0, 7]):
        init_key, train_key = seed_keys(seed)
        np.testing.assert_array_equal(jax.random.key_data(runs.keys[r]), jax.random.key_data(train_key))
        # Typed keys carry the bits of the classic PRNGKey(seed) split.
        np.testing.assert_array_equal(jax.random.key_data(train_key), jax.random.split(jax.random.PRNGKey(seed))[1])
        state, _ = tiny.init_state(model, tiny.sgd(0.05), seed=seed)
        jax.tree_util.tree_map(np.testing.assert_array_equal, unstack(runs.state.params, r), state.params)
    assert runs.info == [{"seed": 0}, {"seed": 7}] and runs.num_runs == 2 and runs.axes == {}
    assert not np.allclose(runs.state.params["output"]["kernel"][0], runs.state.params["output"]["kernel"][1])


def test_vmapped_seeds_equal_separate_runs(tiny, model, blobs):
    train, val = blobs
    tx = tiny.sgd(0.02, STEPS, momentum=0.5)
    runs = make_runs(model, tx, train["x"][:1], seeds=[0, 1])
    result = fit(runs, train, epochs=EPOCHS, batch_size=BATCH, eval_sets={"val": val}, progress=False)
    for r, seed in enumerate([0, 1]):
        alone = single_fit(tiny, model, tx, seed, train, eval_sets={"val": val})
        assert_trees_close(unstack(result.state.params, r), alone.state.params)
        assert_trees_close(unstack(result.state.opt_state, r), alone.state.opt_state)
        np.testing.assert_allclose(result.curve("val_loss", run=r)[1], alone.curve("val_loss", run=0)[1],
                                   rtol=1e-5, atol=1e-6)
        assert [h["seed"] for h in result.run_history(r)] == [seed] * EPOCHS
    # Different seeds really are different runs.
    assert not np.allclose(result.state.params["output"]["kernel"][0], result.state.params["output"]["kernel"][1])
    np.testing.assert_array_equal(result.updates, [EPOCHS * STEPS] * 2)


def test_momentum_sweep_equals_separately_built_runs(tiny, model, blobs):
    train, _ = blobs
    values = [0.5, 0.9]
    tx = tiny.sgd(0.05, STEPS, momentum=0.1)  # the swept value replaces this one
    runs = make_runs(model, tx, train["x"][:1], seeds=[3], sweep={"momentum": values})
    assert runs.info == [{"momentum": 0.5, "seed": 3}, {"momentum": 0.9, "seed": 3}]
    np.testing.assert_allclose(runs.state.opt_state.hyperparams["momentum"], values)
    result = fit(runs.state, train, key=runs.train_keys, epochs=EPOCHS, batch_size=BATCH, num_runs=2,
                 run_info=runs.info, progress=False)
    for r, momentum in enumerate(values):
        assert all(h["momentum"] == momentum for h in result.run_history(r))
    # Run 1 equals a run built with momentum 0.9 from the start (run 0 is the same program).
    alone = single_fit(tiny, model, tiny.sgd(0.05, STEPS, momentum=0.9), 3, train)
    assert_trees_close(unstack(result.state.params, 1), alone.state.params)
    assert_trees_close(unstack(result.state.opt_state, 1), alone.state.opt_state)
    assert not np.allclose(result.state.params["output"]["kernel"][0], alone.state.params["output"]["kernel"],
                           atol=1e-4)


def test_per_run_early_stopping_freezes_only_the_stopped_run(tiny, model, blobs):
    train, val = blobs
    es = EarlyStopping(monitor="val_loss", mode="min", patience=2)
    # Run 1 has learning rate 0: its val loss never improves after epoch 1, so it stops at
    # epoch 3 and stays frozen while run 0 (learning rate 0.05) goes on improving.
    values = [0.05, 0.0]
    runs = make_runs(model, tiny.sgd(0.05, STEPS), train["x"][:1], seeds=[0], sweep={"learning_rate": values})
    result = fit(runs.state, train, key=runs.train_keys, epochs=6, batch_size=BATCH, num_runs=2,
                 run_info=runs.info, eval_sets={"val": val}, early_stopping=es, progress=False)
    np.testing.assert_array_equal(result.stopped_epoch, [6, 3])
    np.testing.assert_array_equal(result.best_epoch, [6, 1])
    np.testing.assert_array_equal(result.updates, [6 * STEPS, 3 * STEPS])
    assert [h["epoch"] for h in result.run_history(1)] == [1, 2, 3]
    assert result.run_history(1)[-1]["early_stopped"] is True
    for r in range(2):
        assert int(unstack(result.state.step, r)) == int(result.updates[r])
        assert int(unstack(result.best_state.step, r)) == int(result.best_epoch[r]) * STEPS
    # Run 0 trained on unaffected by run 1's stop: it equals a run trained alone.
    state, key = tiny.init_state(model, tiny.sgd(0.05, STEPS), seed=0)
    alone = fit(state, train, key=key, epochs=6, batch_size=BATCH, eval_sets={"val": val},
                early_stopping=es, progress=False)
    np.testing.assert_array_equal(alone.stopped_epoch, [6])
    assert_trees_close(unstack(result.state.params, 0), alone.state.params)
    assert_trees_close(unstack(result.best_state.params, 0), alone.best_state.params)
    # Run 1 (learning rate 0) is frozen at its initial parameters, and so is its best state.
    assert_trees_close(unstack(result.state.params, 1), state.params, rtol=0, atol=0)
    assert_trees_close(unstack(result.best_state.params, 1), state.params, rtol=0, atol=0)


def test_group_and_unstack(tiny, model):
    runs = make_runs(model, tiny.sgd(0.05, momentum=0.5), np.zeros((1, 8), np.float32), seeds=[0, 1, 2],
                     sweep={"momentum": [0.0, 0.9]})
    assert runs.num_runs == 6 and runs.axes == {"momentum": (0.0, 0.9)}
    assert [i["seed"] for i in runs.info] == [0, 1, 2, 0, 1, 2]
    assert [i["momentum"] for i in runs.info] == [0.0] * 3 + [0.9] * 3
    # Same seed, same initial weights whatever the swept value (common random numbers).
    np.testing.assert_array_equal(runs.state.params["output"]["kernel"][1], runs.state.params["output"]["kernel"][4])
    groups = runs.group(np.arange(6))
    assert list(groups) == [0.0, 0.9]
    np.testing.assert_array_equal(groups[0.0], [0, 1, 2])
    np.testing.assert_array_equal(groups[0.9], [3, 4, 5])
    plain = Runs(state=None, keys=None, info=[{"seed": 4}, {"seed": 5}], seeds=(4, 5), axes={})
    np.testing.assert_array_equal(plain.group(np.array([7.0, 8.0]))[None], [7.0, 8.0])
    assert unstack({"a": np.arange(6).reshape(3, 2)}, 1)["a"].tolist() == [2, 3]


def test_make_runs_errors(tiny, model):
    x = np.zeros((1, 8), np.float32)
    with pytest.raises(ValueError, match="at least one seed"):
        make_runs(model, tiny.sgd(0.05), x, seeds=[])
    with pytest.raises(ValueError, match="grid or sweep, not both"):
        make_runs(model, tiny.sgd(0.05, momentum=0.5), x, seeds=[0], grid={"momentum": [0.1]},
                  sweep={"learning_rate": [0.1]})
    # Plain SGD (momentum 0) has no momentum hyperparameter to sweep.
    with pytest.raises(ValueError, match=r"cannot set hyperparameter 'momentum'"):
        make_runs(model, tiny.sgd(0.05), x, seeds=[0], sweep={"momentum": [0.5, 0.9]})
