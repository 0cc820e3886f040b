"""Test-wide settings (strict rank promotion, CPU, a compilation cache for this run) and the tiny
problems shared by the library tests."""
import os
import tempfile
import uuid

os.environ.setdefault("JAX_PLATFORMS", "cpu")
from jaxlib import version as _jaxlib_version  # noqa: E402  (no backend starts here)

# The flag below is XLA:CPU's in jaxlib 0.10; jaxlib 0.11 rejects it as unknown and aborts (seen on a GPU
# machine with jax 0.11.2, which pyproject's range allows), so it is only set where it exists.
_HAS_FUSION_EMITTER_FLAG = tuple(int(p) for p in _jaxlib_version.__version__.split(".")[:2]) < (0, 11)
if os.environ.get("JAXML_TEST_XLA_OPTIMIZE", "0") != "1" and _HAS_FUSION_EMITTER_FLAG:
    # XLA:CPU's fusion emitters cost most of a tiny program's compile time (measured on 7 of the
    # heaviest tests: backend compile 33.7 s -> 12.7 s, wall 64 s -> 39 s); the tests check behaviour,
    # not speed. Set before jax initialises its backend; subprocesses inherit it.
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_use_fusion_emitters=false").strip()

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jaxml.models.mlp import MLP  # noqa: E402
from jaxml.train import create_state, make_optimizer, seed_keys  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
if "cpu" not in os.environ["JAX_PLATFORMS"].split(","):
    # On an accelerator float32 matmuls default to lower precision (TF32 on NVIDIA GPUs), which the tests'
    # float32 tolerances (set against numpy, flax or an unchanged formulation) do not allow for.
    jax.config.update("jax_default_matmul_precision", "highest")


def pytest_configure(config):
    """Tests check behaviour, not speed: XLA's optimisation passes are switched off
    (``jax_disable_most_optimizations``; measured: the suite's CPU time drops by about a third, as
    compile time dominates tiny tests), unless JAXML_TEST_XLA_OPTIMIZE=1.

    One XLA compilation cache for this test run, shared by the xdist workers (they inherit the
    variable set by the controller): compile time dominates tiny tests, and many compile the same
    programs (a run and its resumed twin, a preset and its rerun). Fresh per run unless
    JAXML_TEST_XLA_CACHE names a folder ("off": no cache); only compiled programs are cached, never results."""
    if os.environ.get("JAXML_TEST_XLA_OPTIMIZE", "0") != "1":
        jax.config.update("jax_disable_most_optimizations", True)
        os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] = "1"  # the processes tests start behave the same
    # Lowering to MLIR attaches each operation's full Python traceback as its location; only the
    # innermost frame is kept here (measured on 3 studies' tiny presets, interleaved: 11-20 % less time).
    jax.config.update("jax_include_full_tracebacks_in_locations", False)
    os.environ["JAX_INCLUDE_FULL_TRACEBACKS_IN_LOCATIONS"] = "0"
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        return  # the xdist controller runs no test
    from jaxml.cpu_memory import keep_freed_memory_on_cpu

    keep_freed_memory_on_cpu()  # what fit and the study runner do: XLA:CPU reuses freed buffers
    folder = os.environ.get("JAXML_TEST_XLA_CACHE")
    if folder == "off":
        return
    if not folder:
        run = getattr(config, "workerinput", {}).get("testrunuid") or uuid.uuid4().hex  # xdist: one id per run
        folder = os.path.join(tempfile.gettempdir(), f"jaxml-test-xla-cache-{run}")
    os.makedirs(folder, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    # Processes started by tests (fault injection, multi-process jobs) share the cache: they compile
    # the same programs again and again.
    os.environ.update(JAX_COMPILATION_CACHE_DIR=folder, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                      JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")

# The long tests (studies' tiny presets, processes started by tests, model-family training) run first:
# xdist's worksteal hands each worker a contiguous share of this order and an idle worker takes from
# the end of another's, so the short tests fill the end of the run instead of one long test finishing
# alone on one core.
LONG_FIRST = ("tests/experiments/", "tests/recipes/", "tests/pretrained/", "tests/study/test_faults.py",
              "tests/train/test_multiprocess.py", "tests/train/test_parallel.py", "tests/models/test_conv_impl.py")


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))  # stable: file order kept within each group


# Shared tiny problems (8 features, 3 classes, a few hundred examples): compile time dominates.

NUM_FEATURES = 8
NUM_CLASSES = 3


def make_blobs(n, seed=0, spread=1.0, separation=2.5, centers_seed=123):
    """Gaussian blobs around 3 fixed centres in 8-D (centres independent of ``seed``)."""
    centers = np.random.default_rng(centers_seed).normal(size=(NUM_CLASSES, NUM_FEATURES)) * separation
    rng = np.random.default_rng(seed)
    y = rng.integers(0, NUM_CLASSES, n).astype(np.int32)
    x = (centers[y] + spread * rng.normal(size=(n, NUM_FEATURES))).astype(np.float32)
    return {"x": x, "y": y}


@pytest.fixture(scope="session")
def blobs():
    """(train, val): 240 / 60 examples of linearly separable 3-class blobs."""
    return make_blobs(240, seed=0), make_blobs(60, seed=1)


@pytest.fixture(scope="session")
def model():
    return MLP(hidden_sizes=(16,), output_size=NUM_CLASSES)


def sgd(learning_rate=0.05, steps_per_epoch=1, **fields):
    return make_optimizer({"name": "sgd", "learning_rate": learning_rate, **fields}, steps_per_epoch)


def init_state(model, tx, seed=0, sample_x=None):
    """A fresh state for ``seed``; returns (state, train_key) as ``make_runs`` would build them."""
    init_key, train_key = seed_keys(seed)
    if sample_x is None:
        sample_x = np.zeros((1, NUM_FEATURES), np.float32)
    return create_state(model, tx, init_key, sample_x), train_key


@pytest.fixture(scope="session")
def tiny():
    """The helpers above, for test modules (conftest modules are not importable by name)."""
    import types

    return types.SimpleNamespace(make_blobs=make_blobs, sgd=sgd, init_state=init_state,
                                 num_features=NUM_FEATURES, num_classes=NUM_CLASSES)
