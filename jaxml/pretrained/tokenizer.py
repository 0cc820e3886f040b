"""Tokenizers from Hugging Face model folders, and training new ones, with the ``tokenizers`` library.

- :func:`load_tokenizer(model_dir)`: ``tokenizer.json`` if present, else ``vocab.txt`` (WordPiece,
  BERT-style) or ``vocab.json`` + ``merges.txt`` (byte-level BPE, GPT-2/RoBERTa-style); special
  tokens from ``tokenizer_config.json`` / ``special_tokens_map.json`` when present.
- :func:`train_bpe(texts, vocab_size)`: a byte-level BPE (GPT-2's scheme: any text round-trips,
  ``<|endoftext|>`` is the end-of-text token).
- :func:`train_wordpiece(texts, vocab_size)`: a lowercasing WordPiece (BERT's scheme: ``[CLS] ... [SEP]``,
  ``[MASK]``, ``[PAD]``, ``[UNK]``).

``texts``: a list of text file paths, or an iterator of strings. The result is a :class:`Tokenizer`:
``encode``/``decode``, ``batch`` (padded int32 arrays and an attention mask, left or right padding),
the special tokens' ids, and ``save(folder)`` (``tokenizer.json`` + ``tokenizer_config.json``, which
``transformers.AutoTokenizer`` loads).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable

import numpy as np

__all__ = ["Tokenizer", "load_tokenizer", "train_bpe", "train_wordpiece"]

_SPECIAL = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
# Fallback guesses when a folder has no tokenizer_config.json: the strings BERT, RoBERTa and GPT-2 use.
_GUESS = {"mask_token": ("[MASK]", "<mask>"), "pad_token": ("[PAD]", "<pad>"), "unk_token": ("[UNK]", "<unk>"),
          "cls_token": ("[CLS]", "<s>"), "sep_token": ("[SEP]", "</s>"), "bos_token": ("<s>", "<|endoftext|>"),
          "eos_token": ("</s>", "<|endoftext|>")}
# transformers' clean_up_tokenization (a fact of its decode): spaces before punctuation and contractions.
_CLEAN_UP = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
             (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


class Tokenizer:
    """A ``tokenizers.Tokenizer`` and its special tokens (``mask_token``, ``pad_token``, ... as strings
    or None; ``mask_token_id`` etc. as ids or None)."""

    def __init__(self, tokenizer, special_tokens: dict | None = None, clean_up_tokenization_spaces: bool = False):
        self.backend = tokenizer
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        special = dict(special_tokens or {})
        vocab = tokenizer.get_vocab()
        for name in _SPECIAL:
            if special.get(name) is None:
                special[name] = next((s for s in _GUESS.get(name, ()) if s in vocab), None)
            setattr(self, name, special[name])
            setattr(self, name + "_id", None if special[name] is None else tokenizer.token_to_id(special[name]))

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    @property
    def special_ids(self) -> set:
        return {getattr(self, n + "_id") for n in _SPECIAL} - {None}

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return self.backend.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        text = self.backend.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)
        if self.clean_up_tokenization_spaces:
            for a, b in _CLEAN_UP:
                text = text.replace(a, b)
        return text

    def token_to_id(self, token: str):
        return self.backend.token_to_id(token)

    def id_to_token(self, i: int):
        return self.backend.id_to_token(int(i))

    def batch(self, texts: list[str], padding_side: str = "right", add_special_tokens: bool = True):
        """``(ids int32 (B, T), attention_mask int32 (B, T))``, T the longest text; padded with
        ``pad_token_id`` (else ``eos_token_id``, else 0) on ``padding_side`` ("left" for generation)."""
        if padding_side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
        rows = [self.encode(t, add_special_tokens) for t in texts]
        t = max(len(r) for r in rows)
        pad = next((i for i in (self.pad_token_id, self.eos_token_id) if i is not None), 0)
        ids, mask = np.full((len(rows), t), pad, np.int32), np.zeros((len(rows), t), np.int32)
        for i, r in enumerate(rows):
            sl = slice(t - len(r), t) if padding_side == "left" else slice(0, len(r))
            ids[i, sl], mask[i, sl] = r, 1
        return ids, mask

    def save(self, folder: str):
        """Write ``tokenizer.json`` and ``tokenizer_config.json`` into ``folder``."""
        os.makedirs(folder, exist_ok=True)
        self.backend.save(os.path.join(folder, "tokenizer.json"))
        config = {"tokenizer_class": "PreTrainedTokenizerFast",
                  "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces}
        config.update({n: getattr(self, n) for n in _SPECIAL if getattr(self, n) is not None})
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump(config, f, indent=2)


def _special_from_files(model_dir):
    special, clean = {}, False
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = os.path.join(model_dir, name)
        if os.path.exists(path):
            with open(path) as f:
                cfg = json.load(f)
            for key in _SPECIAL:
                v = cfg.get(key)
                if isinstance(v, dict):
                    v = v.get("content")
                if isinstance(v, str):
                    special[key] = v
            clean = bool(cfg.get("clean_up_tokenization_spaces", clean))
            special["_lower"] = cfg.get("do_lower_case", special.get("_lower", True))
    return special, clean


def load_tokenizer(model_dir: str, model_type: str | None = None) -> Tokenizer:
    """The tokenizer stored in ``model_dir`` (see the module docstring). ``model_type`` ("roberta")
    picks RoBERTa's ``<s> ... </s>`` wrapping for a vocab.json + merges.txt folder (default: read
    from config.json)."""
    from tokenizers import Tokenizer as Backend
    from tokenizers import decoders, models, normalizers, pre_tokenizers, processors

    special, clean = _special_from_files(model_dir)
    lower = special.pop("_lower", True)
    if model_type is None and os.path.exists(os.path.join(model_dir, "config.json")):
        with open(os.path.join(model_dir, "config.json")) as f:
            model_type = json.load(f).get("model_type")
    files = {n: os.path.join(model_dir, n) for n in ("tokenizer.json", "vocab.txt", "vocab.json", "merges.txt")}
    if os.path.exists(files["tokenizer.json"]):
        return Tokenizer(Backend.from_file(files["tokenizer.json"]), special, clean)
    if os.path.exists(files["vocab.txt"]):
        unk = special.get("unk_token", "[UNK]")
        tok = Backend(models.WordPiece.from_file(files["vocab.txt"], unk_token=unk))
        tok.normalizer = normalizers.BertNormalizer(lowercase=bool(lower))
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        cls, sep = special.get("cls_token", "[CLS]"), special.get("sep_token", "[SEP]")
        tok.post_processor = processors.BertProcessing((sep, tok.token_to_id(sep)), (cls, tok.token_to_id(cls)))
        return Tokenizer(tok, special, clean)
    if os.path.exists(files["vocab.json"]) and os.path.exists(files["merges.txt"]):
        tok = Backend(models.BPE.from_file(files["vocab.json"], files["merges.txt"]))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        if model_type == "roberta":
            cls, sep = special.get("cls_token", "<s>"), special.get("sep_token", "</s>")
            tok.post_processor = processors.RobertaProcessing((sep, tok.token_to_id(sep)),
                                                              (cls, tok.token_to_id(cls)))
        else:
            tok.post_processor = processors.ByteLevel(trim_offsets=False)
        return Tokenizer(tok, special, clean)
    raise FileNotFoundError(f"no tokenizer in {model_dir!r}: expected tokenizer.json, vocab.txt, or vocab.json + "
                            "merges.txt")


def _train(tok, trainer, texts):
    if isinstance(texts, (str, os.PathLike)):
        texts = [texts]
    if isinstance(texts, (list, tuple)) and all(isinstance(t, (str, os.PathLike)) for t in texts) and all(
            os.path.isfile(t) for t in texts):
        tok.train([os.fspath(t) for t in texts], trainer)
    elif isinstance(texts, Iterable):
        tok.train_from_iterator(texts, trainer)
    else:
        raise TypeError(f"texts must be a list of text file paths or an iterator of strings, got {type(texts)}")
    return tok


def train_bpe(texts, vocab_size: int = 8000, min_frequency: int = 2, eos_token: str = "<|endoftext|>") -> Tokenizer:
    """A byte-level BPE tokenizer (GPT-2's scheme) with ``vocab_size`` entries trained on ``texts``."""
    from tokenizers import Tokenizer as Backend
    from tokenizers import decoders, models, pre_tokenizers, processors, trainers

    tok = Backend(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[eos_token],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    return Tokenizer(_train(tok, trainer, texts), {"bos_token": eos_token, "eos_token": eos_token})


def train_wordpiece(texts, vocab_size: int = 8000, min_frequency: int = 2, lowercase: bool = True) -> Tokenizer:
    """A WordPiece tokenizer (BERT's scheme: ``[CLS] text [SEP]``) with ``vocab_size`` entries."""
    from tokenizers import Tokenizer as Backend
    from tokenizers import decoders, models, normalizers, pre_tokenizers, processors, trainers

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Backend(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=special,
                                        show_progress=False)
    _train(tok, trainer, texts)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    names = dict(zip(("pad_token", "unk_token", "cls_token", "sep_token", "mask_token"), special))
    return Tokenizer(tok, names, clean_up_tokenization_spaces=True)
