"""``python -m jaxml.pretrained --model_dir=<Hugging Face model folder> --prompt="..."``.

A GPT-2 folder runs text generation (``--max_new_tokens``, ``--do_sample``, ``--temperature``,
``--top_k``, ``--top_p``, ``--num_return_sequences``, ``--seed``); a BERT/RoBERTa folder runs fill-mask
(``--top_k``; ``[MASK]`` in the prompt is replaced by the model's own mask token, e.g. RoBERTa's
``<mask>``). ``--prompt`` may be repeated. Nothing downloads.
"""
from __future__ import annotations

import json

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Hugging Face model folder (config.json, weights, tokenizer files).",
                    required=True)
flags.DEFINE_multi_string("prompt", None, "Text(s) to complete or fill.", required=True)
flags.DEFINE_integer("top_k", None, "fill-mask: results per mask (default 5); generation: top-k filter (default 0).")
flags.DEFINE_integer("max_new_tokens", 50, "Generation: new tokens per prompt.")
flags.DEFINE_bool("do_sample", False, "Generation: sample instead of greedy decoding.")
flags.DEFINE_float("temperature", 1.0, "Generation: softmax temperature.")
flags.DEFINE_float("top_p", 1.0, "Generation: nucleus filter.")
flags.DEFINE_integer("num_return_sequences", 1, "Generation: continuations per prompt.")
flags.DEFINE_integer("seed", 0, "Generation: sampling seed.")


def main(argv):
    del argv
    import jax

    from jaxml.pretrained.convert import load_pretrained
    from jaxml.pretrained.pipelines import fill_mask, generate_text
    from jaxml.pretrained.tokenizer import load_tokenizer

    pre = load_pretrained(FLAGS.model_dir)
    tok = load_tokenizer(FLAGS.model_dir)
    if pre.kind == "gpt2":
        out = generate_text(pre.model, pre.params, tok, FLAGS.prompt, max_new_tokens=FLAGS.max_new_tokens,
                            do_sample=FLAGS.do_sample, temperature=FLAGS.temperature, top_k=FLAGS.top_k or 0,
                            top_p=FLAGS.top_p, num_return_sequences=FLAGS.num_return_sequences,
                            rng=jax.random.key(FLAGS.seed))
    else:
        prompts = [p.replace("[MASK]", tok.mask_token) for p in FLAGS.prompt]
        out = fill_mask(pre.model, pre.params, tok, prompts, top_k=FLAGS.top_k or 5)
    for prompt, result in zip(FLAGS.prompt, out):
        print(json.dumps({"prompt": prompt, "result": result}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    app.run(main)
