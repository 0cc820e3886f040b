"""jaxml.cpu_memory: import applies the malloc setting on Linux/glibc unless the env var says no."""
import subprocess
import sys

import pytest

from jaxml import cpu_memory

CODE = "import jaxml, jaxml.cpu_memory as m, json; print(json.dumps(m.status()))"


@pytest.mark.skipif(cpu_memory._glibc() is None, reason="glibc only")
@pytest.mark.parametrize("env, applied", [(None, True), ("0", False), ("off", False), ("1", True)])
def test_import_applies_unless_disabled(env, applied, monkeypatch):
    if env is None:
        monkeypatch.delenv(cpu_memory.ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(cpu_memory.ENV_VAR, env)
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout
    assert f'"applied": {str(applied).lower()}' in out


def test_enabled_by_env_values(monkeypatch):
    for value, expected in [("0", False), ("False", False), ("no", False), ("1", True), ("yes", True)]:
        monkeypatch.setenv(cpu_memory.ENV_VAR, value)
        assert cpu_memory.enabled_by_env() is expected
