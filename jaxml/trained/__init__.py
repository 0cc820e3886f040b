"""A finished study run's trained models: rebuilt from the ``model.json`` beside their checkpoints and used.

- ``jaxml.trained.families`` — the model family builders ``model.json`` names (``build``, ``param_shapes``);
- ``jaxml.trained.load`` — ``load_trained(workdir, part, run, weights)``: a part's model and weights;
- the commands, each ``python -m jaxml.trained.<command> --workdir=<run> [--part= --run= --weights=]``:
  ``sample_text`` (character GPT), ``sample_images`` (VAE, GAN), ``evaluate_checkpoint`` (classifiers,
  optionally on shifted or rotated test images); ``jaxml.trained.commands`` holds what they share.

This package sits above ``models``, ``train`` and ``study`` (it builds models, which the study layer does not).
"""
