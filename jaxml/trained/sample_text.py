"""Sample text from the character GPT of a finished ``experiments/shakespeare_gpt.py`` run.

    python -m jaxml.trained.sample_text --workdir=runs/shakespeare_gpt/<time> --prompt="ROMEO:" \\
        --temperature=0.8 --top_k=10 --num_tokens=300 [--seed=0] [--part=main] [--weights=best]

Reads the part's ``model.json`` (the GPT's constructor arguments and its character vocabulary) and
its newest checkpoint (the best-validation parameters by default, as the study samples), then
prints the prompt followed by ``--num_tokens`` sampled characters
(``jaxml.models.transformer.make_generate``: temperature, top-k; ``--top_k=0`` samples from all).
Parts: ``main`` (the default), ``block_size/<v>``, ``num_heads/<v>`` (the sweep runs).
"""
from __future__ import annotations

import sys

from absl import flags

from jaxml.trained.commands import CommandError, define_model_flags, load_model, run_command

PROG = "sample_text"


def define(fv: flags.FlagValues) -> None:
    define_model_flags(fv)
    flags.DEFINE_string("prompt", "\n", "Text the sample continues (characters of the model's vocabulary).",
                        flag_values=fv)
    flags.DEFINE_float("temperature", 1.0, "Softmax temperature (> 0).", flag_values=fv)
    flags.DEFINE_integer("top_k", 0, "Sample among the k most likely characters (0: all).", flag_values=fv)
    flags.DEFINE_integer("num_tokens", 200, "How many characters to sample.", flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Sampling seed (same seed, same text).", flag_values=fv)


def sample(trained, prompt: str, *, temperature: float, top_k: int, num_tokens: int, seed: int) -> str:
    """The ``num_tokens`` characters sampled after ``prompt`` (the prompt not included)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxml.models.transformer import make_generate

    vocab = trained.spec["data"]["vocab"]
    index = {ch: i for i, ch in enumerate(vocab)}
    unknown = sorted({ch for ch in prompt if ch not in index})
    if not prompt or unknown:
        raise CommandError(f"--prompt={prompt!r}: " + ("must not be empty" if not prompt else
                           f"characters {unknown} are not in the model's vocabulary of {len(vocab)}"))
    if not temperature > 0:
        raise CommandError(f"--temperature={temperature}: expected a number > 0")
    if top_k < 0 or top_k > len(vocab):
        raise CommandError(f"--top_k={top_k}: expected 0 (all) to {len(vocab)} (the vocabulary size)")
    if num_tokens < 1:
        raise CommandError(f"--num_tokens={num_tokens}: expected at least 1")
    generate = make_generate(trained.model)
    ids = jnp.asarray([index[ch] for ch in prompt], jnp.int32)
    out = generate(trained.variables["params"], jax.random.PRNGKey(seed), ids, num_tokens,
                   temperature=temperature, top_k=top_k)
    return "".join(vocab[i] for i in np.asarray(out)[len(prompt):])


def body(fv: flags.FlagValues) -> None:
    trained = load_model(PROG, fv, "gpt")
    text = sample(trained, fv.prompt, temperature=fv.temperature, top_k=fv.top_k, num_tokens=fv.num_tokens,
                  seed=fv.seed)
    print(fv.prompt + text)


def main(argv=None) -> int:
    return run_command(PROG, define, body, sys.argv if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
