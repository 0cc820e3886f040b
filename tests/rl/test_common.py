"""Config checks shared by the RL algorithms: optimizer name and gradient clipping."""
import dataclasses

import pytest

from jaxml.rl.dqn import DQNConfig
from jaxml.rl.policy_gradient import ReinforceConfig
from jaxml.train.errors import ConfigError


@pytest.mark.parametrize("cls,what", [(DQNConfig, "DQN"), (ReinforceConfig, "REINFORCE")])
def test_optimizer_and_clipping_are_checked(cls, what):
    base = cls()
    base.validate()
    with pytest.raises(ConfigError, match=f"{what} config key 'optimizer' = 'adma'"):
        dataclasses.replace(base, optimizer="adma").validate()
    for bad in (-1.0, float("nan")):
        with pytest.raises(ConfigError, match=f"{what} config key 'max_grad_norm'"):
            dataclasses.replace(base, max_grad_norm=bad).validate()


def test_reinforce_activation_and_widths_are_checked():
    with pytest.raises(ConfigError, match="'activation' = 'tanhh'"):
        ReinforceConfig(activation="tanhh").validate()
    with pytest.raises(ConfigError, match="'hidden_sizes' must list positive widths"):
        ReinforceConfig(policy="mlp", hidden_sizes=(0,)).validate()
