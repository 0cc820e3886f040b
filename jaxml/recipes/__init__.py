"""Model-family steps for the one training driver (``jaxml.train.fit``).

- ``jaxml.recipes.vae`` — latent-variable (VAE) train/eval steps: the negative ELBO with its own
  ``latent`` rng stream.
- ``jaxml.recipes.gan`` — a two-player state (generator + discriminator, one pytree) and its step.
- ``jaxml.recipes.lm`` — language models: random (B, T) windows of a token stream as a batch
  source, and the next-token loss.

Each recipe is a step (``(state, batch, rng) -> (state, metric_sums)``) and, where needed, an eval
step and a batch source; the driver does everything else.
"""
