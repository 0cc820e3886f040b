"""Pretrained transformers from Hugging Face model folders: GPT-2, BERT, RoBERTa in Flax.

- :mod:`jaxml.pretrained.convert` — ``load_pretrained(model_dir)`` / ``save_pretrained(model_dir, ...)``
  (config.json + model.safetensors / pytorch_model.bin <-> Flax params; nothing downloads).
- :mod:`jaxml.pretrained.tokenizer` — ``load_tokenizer(model_dir)``; ``train_bpe`` / ``train_wordpiece``
  on text files (the ``tokenizers`` library).
- :mod:`jaxml.pretrained.generate` — ``make_generate(model)``: compiled decoding with a key/value cache.
- :mod:`jaxml.pretrained.pipelines` — ``fill_mask(...)``, ``generate_text(...)``.
- ``python -m jaxml.pretrained --model_dir=... --prompt=...`` runs the pipelines on a folder.

Importing this package needs neither torch nor transformers (only ``pytorch_model.bin`` needs torch).
"""
