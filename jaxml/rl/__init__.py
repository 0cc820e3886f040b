"""jaxml.rl: environments, replay buffer, DQN and REINFORCE, compiled where the environment allows.

- ``envs``: ``make_env(env_id, backend, num_envs)`` over gymnax (jittable) and gymnasium (host).
- ``replay``: a pure JAX circular replay buffer; ``schedules``: linear ε and ε-greedy.
- ``dqn``: ``DQNConfig``, TD targets/loss, ``make_train(config) -> train(rng, hparams)`` (one
  compiled program; vmap it over seeds and swept γ/learning rate); ``dqn_host.train_host``:
  the same agent in a host loop for gymnasium environments (LunarLander-v3).
- ``policy_gradient``: REINFORCE with the logistic or MLP policy, compiled or host.
- ``evaluate``: greedy evaluation over N episodes and learning-curve helpers;
  ``summaries``: report rows from evaluation returns.

Import the module you need, e.g. ``from jaxml.rl import dqn``.
"""
