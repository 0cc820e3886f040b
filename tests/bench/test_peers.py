"""bench.peers: the line protocol with a peer driver (against a fake driver, not the rejax venv),
the settings mappings onto rejax's and stable-baselines3's arguments, the missing-venv message."""
from __future__ import annotations

import importlib.util
import json
import sys
import textwrap

import pytest

from bench import peers
from jaxml.rl.dqn import CARTPOLE_SETTINGS, DQNConfig

FAKE_DRIVER = textwrap.dedent('''
    import json, sys
    print("some warning on stdout", flush=True)
    print("PEER_JSON " + json.dumps({"event": "ready", "compile_seconds": 1.5, "versions": {"rejax": "0"},
                                     "rejax_config": {}, "settings": json.loads(sys.argv[1])}), flush=True)
    runs = 0
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "run":
            runs += 1
            print("PEER_JSON " + json.dumps({"event": "run", "seconds": 0.25 * runs}), flush=True)
        elif cmd == "eval":
            print("PEER_JSON " + json.dumps({"event": "eval", "returns": [500.0, 499.0]}), flush=True)
        elif cmd == "quit":
            break
        else:
            print("PEER_JSON " + json.dumps({"event": "error", "message": "unknown " + cmd}), flush=True)
''')


def test_parse_line_reads_only_prefixed_messages():
    assert peers.parse_line("WARNING: something\n") is None
    assert peers.parse_line('PEER_JSON {"event": "run", "seconds": 1.0}\n') == {"event": "run", "seconds": 1.0}
    with pytest.raises(peers.PeerError, match="malformed"):
        peers.parse_line('PEER_JSON {"seconds": 1.0}')
    with pytest.raises(ValueError):
        peers.parse_line("PEER_JSON {not json")


def test_peer_protocol_with_a_fake_driver(tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(FAKE_DRIVER)
    with peers.Peer(sys.executable, driver, {"seed": 3}) as p:
        ready = p.start()
        assert ready["compile_seconds"] == 1.5 and ready["settings"] == {"seed": 3}
        assert [p.request("run")["seconds"] for _ in range(2)] == [0.25, 0.5]
        assert p.request("eval")["returns"] == [500.0, 499.0]
        with pytest.raises(peers.PeerError, match="unknown bogus"):
            p.request("bogus")
    assert p.proc.poll() == 0  # quit on close


def test_peer_that_dies_reports_its_stderr(tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text("import sys; sys.stderr.write('ImportError: no module named rejax'); sys.exit(3)")
    p = peers.Peer(sys.executable, driver, {})
    with pytest.raises(peers.PeerError, match="(?s)exited \\(code 3\\).*no module named rejax"):
        p.start()
    p.close()


def test_missing_venv_is_detected_with_a_message(tmp_path):
    assert peers.venv_python(tmp_path / "nope") is None
    msg = peers.missing_venv_message(tmp_path / "nope")
    assert "make bench-peers" in msg and "requirements-rejax.txt" in msg and str(tmp_path / "nope") in msg


def _load_driver():
    spec = importlib.util.spec_from_file_location("rejax_dqn_driver", peers.REJAX_DRIVER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # imports nothing from rejax or jax at module level
    return mod


def _settings():
    from bench import rl

    return json.loads(json.dumps(rl.peer_settings(DQNConfig.from_mapping(CARTPOLE_SETTINGS))))


def test_rejax_arguments_match_the_study_settings():
    cfg = _load_driver().rejax_config(_settings())
    assert cfg["env"] == "CartPole-v1" and cfg["total_timesteps"] == 500_000 and cfg["num_envs"] == 10
    assert cfg["fill_buffer"] == 10_000 and cfg["buffer_size"] == 10_000 and cfg["batch_size"] == 128
    assert cfg["target_update_freq"] == 500 and cfg["polyak"] == 0.0 and cfg["num_epochs"] == 1
    assert cfg["eval_freq"] == 25_000 and cfg["exploration_fraction"] == 0.5 and cfg["ddqn"] is False
    assert cfg["agent_kwargs"] == {"activation": "relu", "hidden_layer_sizes": (64, 64)}
    assert (cfg["learning_rate"], cfg["gamma"], cfg["max_grad_norm"]) == (2.5e-4, 0.99, 10.0)


def test_sb3_arguments_match_the_study_settings():
    from bench.peers import sb3_dqn  # the mapping itself needs neither torch nor stable-baselines3

    kw = sb3_dqn.sb3_kwargs(_settings())
    assert kw["target_update_interval"] == 500 and kw["learning_starts"] == 10_000 and kw["train_freq"] == 1
    assert kw["policy_kwargs"]["net_arch"] == [64, 64] and kw["exploration_fraction"] == 0.5
    assert (kw["batch_size"], kw["buffer_size"], kw["max_grad_norm"]) == (128, 10_000, 10.0)
