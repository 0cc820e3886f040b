"""jaxml.cpu_memory: importing jaxml changes nothing; keep_freed_memory_on_cpu applies the malloc
setting once, on the CPU backend only, unless JAXML_KEEP_FREED_MEMORY says no.

The setting is process-wide, so every check runs in a fresh interpreter.
"""
import json
import os
import subprocess
import sys

import pytest

from jaxml import cpu_memory

glibc_only = pytest.mark.skipif(cpu_memory._glibc() is None, reason="glibc only")

IMPORT_ONLY = """
import json, sys
import jaxml, jaxml.cpu_memory as m
print(json.dumps({**m.status(), "jax_loaded": "jax" in sys.modules}))
"""

ON_CPU = """
import json
import jaxml.cpu_memory as m
calls = []
tune = m.keep_freed_memory
m.keep_freed_memory = lambda: calls.append(1) or tune()
first, second = m.keep_freed_memory_on_cpu(), m.keep_freed_memory_on_cpu()
print(json.dumps({**m.status(), "first": first, "second": second, "tuned": len(calls)}))
"""

OTHER_BACKEND = """
import json
import jax
import jaxml.cpu_memory as m
jax.default_backend = lambda: "gpu"  # as on a machine with an accelerator
print(json.dumps({**m.status(), "returned": m.keep_freed_memory_on_cpu()}))
"""


def run(code: str, env_value: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != cpu_memory.ENV_VAR}
    env["JAX_PLATFORMS"] = "cpu"
    if env_value is not None:
        env[cpu_memory.ENV_VAR] = env_value
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("env_value", [None, "1", "0"])
def test_import_has_no_side_effect(env_value):
    out = run(IMPORT_ONLY, env_value)
    assert out["applied"] is False and out["jax_loaded"] is False


@pytest.mark.slow  # JAX in a fresh process per case; make test-slow, CI
@glibc_only
@pytest.mark.parametrize("env_value, applied", [(None, True), ("1", True), ("0", False), ("off", False)])
def test_applied_once_on_cpu_unless_disabled(env_value, applied):
    out = run(ON_CPU, env_value)
    assert out["first"] is out["second"] is out["applied"] is applied
    assert out["tuned"] == int(applied)  # malloc tuned at most once, by the first call
    assert out["env"] == env_value and out["arenas_capped"] is applied


FAULTS = """
import json, resource
import jaxml.cpu_memory as m
m.keep_freed_memory_on_cpu()
import jax, jax.numpy as jnp
f = jax.jit(lambda x: (jnp.sin(x) @ jnp.cos(x)).sum())  # temporaries of 64 MiB, allocated by XLA's threads
x = jnp.ones((4096, 4096))
f(x).block_until_ready()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    f(x).block_until_ready()
print(json.dumps({"faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


@pytest.mark.slow  # JAX in a fresh process per case; make test-slow, CI
@glibc_only
def test_repeated_calls_reuse_memory_instead_of_faulting_fresh_pages():
    kept, default = run(FAULTS, None)["faults"], run(FAULTS, "0")["faults"]
    assert default > 3 * 3 * 16384  # glibc's defaults: every 64 MiB temporary mapped anew (16,384 pages each)
    assert kept < default / 20


@pytest.mark.slow  # JAX in a fresh process per case; make test-slow, CI
def test_not_applied_on_other_backends():
    out = run(OTHER_BACKEND, None)
    assert out["returned"] is False and out["applied"] is False


def test_enabled_by_env_values(monkeypatch):
    for value, expected in [("0", False), ("False", False), ("no", False), ("1", True), ("yes", True)]:
        monkeypatch.setenv(cpu_memory.ENV_VAR, value)
        assert cpu_memory.enabled_by_env() is expected
    monkeypatch.delenv(cpu_memory.ENV_VAR)
    assert cpu_memory.enabled_by_env() is True
