"""Hugging Face model folders <-> jaxml models and Flax params (GPT-2, BERT, RoBERTa). Nothing downloads.

- :func:`load_pretrained(model_dir)` -> :class:`Pretrained` (``model``, ``params``, ``config``,
  ``kind``): reads ``config.json`` and the weights (``model.safetensors``, a sharded
  ``model.safetensors.index.json``, or ``pytorch_model.bin``, which needs torch: the ``bench``/``dev``
  extra) and maps every tensor to its Flax parameter.
- :func:`save_pretrained(model_dir, pretrained)`: writes ``config.json`` + ``model.safetensors``
  that ``transformers``' ``AutoModelFor{CausalLM,MaskedLM}.from_pretrained`` loads (tied output
  weights are left out, as transformers saves them).
- :func:`to_flax(kind, config, state_dict)` / :func:`to_hf(kind, config, params)`: the mappings.

Layouts: torch ``Linear`` stores (out, in) and GPT-2's ``Conv1D`` (in, out); jaxml's attention keeps
Q/K/V kernels as (D, H, d_h) and the output as (H, d_h, D) (:mod:`jaxml.models.attention`). A
tensor jaxml does not know, or a parameter the folder lacks, raises :class:`CheckpointError`
listing all of them; known unused heads (BERT's pooler and next-sentence head, old buffers) are skipped.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any

import jax
import numpy as np

from jaxml.models.bert import Bert, BertConfig
from jaxml.models.gpt2 import GPT2, GPT2Config

__all__ = ["CheckpointError", "Pretrained", "load_config", "load_state_dict", "load_pretrained", "save_pretrained",
           "to_flax", "to_hf"]

_PREFIX = {"gpt2": "transformer.", "bert": "bert.", "roberta": "roberta."}
_ARCH = {"gpt2": "GPT2LMHeadModel", "bert": "BertForMaskedLM", "roberta": "RobertaForMaskedLM"}
# Tensors a checkpoint may hold that these models do not use (skipped, reported by name in `skipped`).
_IGNORED = [r"h\.\d+\.attn\.(masked_)?bias", r"pooler\..*", r"cls\.seq_relationship\..*",
            r"embeddings\.(position_ids|token_type_ids)"]


class CheckpointError(ValueError):
    """A model folder that does not match the model: missing or unknown tensors, bad config."""


@dataclasses.dataclass
class Pretrained:
    """A loaded model: ``kind`` ("gpt2" | "bert" | "roberta"), its config, the Linen module and params
    (``model.apply({"params": params}, input_ids, ...)``); ``skipped``: checkpoint tensors not used."""

    kind: str
    config: Any
    model: Any
    params: Any
    skipped: list = dataclasses.field(default_factory=list)


def load_config(model_dir: str):
    """``(kind, GPT2Config | BertConfig)`` from ``model_dir/config.json``."""
    path = os.path.join(model_dir, "config.json")
    if not os.path.exists(path):
        raise CheckpointError(f"no config.json in {model_dir!r} (expected a Hugging Face model folder)")
    with open(path) as f:
        hf = json.load(f)
    kind = hf.get("model_type")
    if kind == "gpt2":
        for key, ok in (("scale_attn_by_inverse_layer_idx", False), ("reorder_and_upcast_attn", False),
                        ("add_cross_attention", False), ("scale_attn_weights", True)):
            if hf.get(key, ok) != ok:
                raise CheckpointError(f"{path}: {key}={hf[key]!r} is not supported (jaxml's GPT-2 needs {ok})")
        if hf.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
            raise CheckpointError(f"{path}: activation_function={hf['activation_function']!r} not supported "
                                  "(GELU-tanh only)")
        fields = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner", "layer_norm_epsilon",
                  "bos_token_id", "eos_token_id", "pad_token_id")
        return kind, GPT2Config(**{k: hf[k] for k in fields if k in hf})
    if kind in ("bert", "roberta"):
        if hf.get("position_embedding_type", "absolute") != "absolute":
            raise CheckpointError(f"{path}: position_embedding_type={hf['position_embedding_type']!r} not supported")
        fields = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                  "hidden_act", "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "pad_token_id")
        return kind, BertConfig(model_type=kind, **{k: hf[k] for k in fields if k in hf and hf[k] is not None})
    raise CheckpointError(f"{path}: model_type={kind!r} not supported (gpt2, bert, roberta)")


def load_state_dict(model_dir: str) -> dict:
    """Tensor name -> numpy array from ``model.safetensors`` (or its sharded index), else ``pytorch_model.bin``."""
    single = os.path.join(model_dir, "model.safetensors")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(single) or os.path.exists(index):
        files = [single] if os.path.exists(single) else None
        if files is None:
            with open(index) as f:
                files = sorted({os.path.join(model_dir, v) for v in json.load(f)["weight_map"].values()})
        out = {}
        for path in files:
            out.update(_read_safetensors(path))
        return out
    bin_path = os.path.join(model_dir, "pytorch_model.bin")
    if os.path.exists(bin_path):
        try:
            import torch
        except ImportError as e:
            raise ImportError(f"reading {bin_path} needs PyTorch: pip install -e '.[bench]' (or '.[dev]'), "
                              "or convert the folder to model.safetensors") from e
        sd = torch.load(bin_path, map_location="cpu", weights_only=True)
        return {k: v.float().numpy() if v.is_floating_point() else v.numpy() for k, v in sd.items()}
    raise CheckpointError(f"no weights in {model_dir!r}: expected model.safetensors, model.safetensors.index.json "
                          "or pytorch_model.bin")


def _read_safetensors(path):
    from safetensors.numpy import load_file
    try:
        return load_file(path)
    except (TypeError, ValueError):  # bfloat16 tensors: numpy cannot hold them; read through flax's loader
        from safetensors.flax import load_file as load_jax
        return {k: np.asarray(v, np.float32) for k, v in load_jax(path).items()}


def load_pretrained(model_dir: str, dtype=None, param_dtype=np.float32) -> Pretrained:
    """The model in ``model_dir`` as a :class:`Pretrained` (``dtype``: computation dtype, e.g. bfloat16)."""
    kind, config = load_config(model_dir)
    params, skipped = to_flax(kind, config, load_state_dict(model_dir), param_dtype=param_dtype)
    model = GPT2(config, dtype=dtype) if kind == "gpt2" else Bert(config, dtype=dtype)
    return Pretrained(kind, config, model, params, skipped)


class _Taker:
    """Pops named tensors from a state dict, recording which were missing or had the wrong shape."""

    def __init__(self, sd):
        self.sd, self.used, self.problems = sd, set(), []

    def __call__(self, name, shape):
        if name not in self.sd:
            self.problems.append(f"missing: {name} {shape}")
            return np.zeros(shape, np.float32)
        self.used.add(name)
        a = np.asarray(self.sd[name])
        if a.shape != tuple(shape):
            self.problems.append(f"shape: {name} is {a.shape}, expected {tuple(shape)}")
            return np.zeros(shape, np.float32)
        return a.astype(np.float32)

    def optional(self, name):
        self.used.add(name)
        return self.sd.get(name)


def _normalise(kind, sd):
    """Strip the architecture prefix and rename old LayerNorm names (gamma/beta)."""
    prefix, out = _PREFIX[kind], {}
    for k, v in sd.items():
        k = k[len(prefix):] if k.startswith(prefix) else k
        k = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", k))
        out[k] = v
    return out


def _ln(take, name, d):
    return {"scale": take(f"{name}.weight", (d,)), "bias": take(f"{name}.bias", (d,))}


def _heads(w_DxD, b_D, h):
    """torch-layout-free (in, out) projection -> (D, H, d_h) kernel and (H, d_h) bias."""
    d = w_DxD.shape[0]
    return {"kernel": w_DxD.reshape(d, h, -1), "bias": b_D.reshape(h, -1)}


def to_flax(kind: str, config, state_dict: dict, param_dtype=np.float32):
    """``(params, skipped)``: Flax params for ``kind`` from a Hugging Face state dict (numpy arrays)."""
    sd = _normalise(kind, state_dict)
    take = _Taker(sd)
    if kind == "gpt2":
        params = _gpt2_to_flax(take, config)
        lm = take.optional("lm_head.weight")
        if lm is not None and not np.array_equal(np.asarray(lm, np.float32), params["wte"]):
            take.problems.append("lm_head.weight differs from wte.weight (jaxml's GPT-2 ties them)")
    else:
        params = _bert_to_flax(take, config, kind)
    skipped = sorted(k for k in sd if k not in take.used and any(re.fullmatch(p, k) for p in _IGNORED))
    unknown = sorted(k for k in sd if k not in take.used and k not in skipped)
    problems = take.problems + [f"unknown: {k} {tuple(np.shape(sd[k]))}" for k in unknown]
    if problems:
        raise CheckpointError(f"checkpoint does not match {kind} {config}:\n  " + "\n  ".join(problems))
    return jax.tree.map(lambda a: np.asarray(a, param_dtype), params), skipped


def _gpt2_to_flax(take, c: GPT2Config):
    d, inner, h = c.n_embd, c.n_inner or 4 * c.n_embd, c.n_head
    params = {"wte": take("wte.weight", (c.vocab_size, d)), "wpe": take("wpe.weight", (c.n_positions, d)),
              "ln_f": _ln(take, "ln_f", d)}
    for i in range(c.n_layer):
        p = f"h.{i}."
        w, b = take(p + "attn.c_attn.weight", (d, 3 * d)), take(p + "attn.c_attn.bias", (3 * d,))
        attn = {name: _heads(w[:, j * d:(j + 1) * d], b[j * d:(j + 1) * d], h)
                for j, name in enumerate(("query", "key", "value"))}
        attn["out"] = {"kernel": take(p + "attn.c_proj.weight", (d, d)).reshape(h, d // h, d),
                       "bias": take(p + "attn.c_proj.bias", (d,))}
        params[f"h_{i}"] = {"ln_1": _ln(take, p + "ln_1", d), "attn": attn, "ln_2": _ln(take, p + "ln_2", d),
                            "c_fc": {"kernel": take(p + "mlp.c_fc.weight", (d, inner)),
                                     "bias": take(p + "mlp.c_fc.bias", (inner,))},
                            "c_proj": {"kernel": take(p + "mlp.c_proj.weight", (inner, d)),
                                       "bias": take(p + "mlp.c_proj.bias", (d,))}}
    return params


def _linear(take, name, d_in, d_out):
    """torch Linear (out, in) -> Dense kernel (in, out) and bias."""
    return {"kernel": take(f"{name}.weight", (d_out, d_in)).T, "bias": take(f"{name}.bias", (d_out,))}


def _bert_to_flax(take, c: BertConfig, kind):
    d, inner, h, v = c.hidden_size, c.intermediate_size, c.num_attention_heads, c.vocab_size
    e = "embeddings."
    params = {"word_embeddings": take(e + "word_embeddings.weight", (v, d)),
              "position_embeddings": take(e + "position_embeddings.weight", (c.max_position_embeddings, d)),
              "token_type_embeddings": take(e + "token_type_embeddings.weight", (c.type_vocab_size, d)),
              "embeddings_ln": _ln(take, e + "LayerNorm", d)}
    for i in range(c.num_hidden_layers):
        p = f"encoder.layer.{i}."
        attn = {}
        for name in ("query", "key", "value"):
            lin = _linear(take, p + f"attention.self.{name}", d, d)
            attn[name] = _heads(lin["kernel"], lin["bias"], h)
        out = _linear(take, p + "attention.output.dense", d, d)
        attn["out"] = {"kernel": out["kernel"].reshape(h, d // h, d), "bias": out["bias"]}
        params[f"layer_{i}"] = {"attention": attn, "attention_ln": _ln(take, p + "attention.output.LayerNorm", d),
                                "intermediate": _linear(take, p + "intermediate.dense", d, inner),
                                "output": _linear(take, p + "output.dense", inner, d),
                                "output_ln": _ln(take, p + "output.LayerNorm", d)}
    head, ln = ("cls.predictions.", "transform.LayerNorm") if kind == "bert" else ("lm_head.", "layer_norm")
    dense = "transform.dense" if kind == "bert" else "dense"
    params["mlm_dense"] = _linear(take, head + dense, d, d)
    params["mlm_ln"] = _ln(take, head + ln, d)
    params["mlm_bias"] = take(head + "bias", (v,))
    for name, tied in (("decoder.weight", params["word_embeddings"]), ("decoder.bias", params["mlm_bias"])):
        a = take.optional(head + name)
        if a is not None and not np.array_equal(np.asarray(a, np.float32), tied):
            take.problems.append(f"{head + name} differs from its tied tensor (jaxml's {kind} ties them)")
    return params


def to_hf(kind: str, config, params) -> dict:
    """Hugging Face state dict (numpy float32, with the architecture prefix) from Flax params."""
    p = {"/".join(k): np.asarray(v, np.float32) for k, v in _flatten(params)}
    out = {}
    if kind == "gpt2":
        c = config
        d = c.n_embd
        out.update({"wte.weight": p["wte"], "wpe.weight": p["wpe"], "ln_f.weight": p["ln_f/scale"],
                    "ln_f.bias": p["ln_f/bias"]})
        for i in range(c.n_layer):
            f, h = f"h_{i}/", f"h.{i}."
            qkv = [p[f + f"attn/{n}/kernel"].reshape(d, d) for n in ("query", "key", "value")]
            out[h + "attn.c_attn.weight"] = np.concatenate(qkv, axis=1)
            out[h + "attn.c_attn.bias"] = np.concatenate([p[f + f"attn/{n}/bias"].reshape(d)
                                                          for n in ("query", "key", "value")])
            out[h + "attn.c_proj.weight"] = p[f + "attn/out/kernel"].reshape(d, d)
            out[h + "attn.c_proj.bias"] = p[f + "attn/out/bias"]
            for ln in ("ln_1", "ln_2"):
                out[h + f"{ln}.weight"], out[h + f"{ln}.bias"] = p[f + f"{ln}/scale"], p[f + f"{ln}/bias"]
            for m in ("c_fc", "c_proj"):
                out[h + f"mlp.{m}.weight"], out[h + f"mlp.{m}.bias"] = p[f + f"{m}/kernel"], p[f + f"{m}/bias"]
        return {_PREFIX[kind] + k: v for k, v in out.items()}
    c = config
    d = c.hidden_size
    e = "embeddings."
    for n in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        out[e + n + ".weight"] = p[n]
    out[e + "LayerNorm.weight"], out[e + "LayerNorm.bias"] = p["embeddings_ln/scale"], p["embeddings_ln/bias"]
    for i in range(c.num_hidden_layers):
        f, h = f"layer_{i}/", f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            out[h + f"attention.self.{n}.weight"] = p[f + f"attention/{n}/kernel"].reshape(d, d).T
            out[h + f"attention.self.{n}.bias"] = p[f + f"attention/{n}/bias"].reshape(d)
        out[h + "attention.output.dense.weight"] = p[f + "attention/out/kernel"].reshape(d, d).T
        out[h + "attention.output.dense.bias"] = p[f + "attention/out/bias"]
        for ours, theirs in (("attention_ln", "attention.output.LayerNorm"), ("output_ln", "output.LayerNorm")):
            out[h + theirs + ".weight"], out[h + theirs + ".bias"] = p[f + ours + "/scale"], p[f + ours + "/bias"]
        for ours, theirs in (("intermediate", "intermediate.dense"), ("output", "output.dense")):
            out[h + theirs + ".weight"], out[h + theirs + ".bias"] = p[f + ours + "/kernel"].T, p[f + ours + "/bias"]
    out = {_PREFIX[kind] + k: v for k, v in out.items()}
    head, ln = ("cls.predictions.", "transform.LayerNorm") if kind == "bert" else ("lm_head.", "layer_norm")
    dense = "transform.dense" if kind == "bert" else "dense"
    out[head + dense + ".weight"], out[head + dense + ".bias"] = p["mlm_dense/kernel"].T, p["mlm_dense/bias"]
    out[head + ln + ".weight"], out[head + ln + ".bias"] = p["mlm_ln/scale"], p["mlm_ln/bias"]
    out[head + "bias"] = p["mlm_bias"]
    return out


def _flatten(tree, prefix=()):
    for k, v in tree.items():
        if isinstance(v, dict) or hasattr(v, "items"):
            yield from _flatten(v, prefix + (k,))
        else:
            yield prefix + (k,), v


def _hf_config(kind, config) -> dict:
    fields = dataclasses.asdict(config)
    fields.pop("dropout_rate", None)
    fields.pop("model_type", None)
    extra = {"model_type": kind, "architectures": [_ARCH[kind]], "tie_word_embeddings": True}
    if kind == "gpt2":
        extra.update(activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    else:
        extra.update(position_embedding_type="absolute", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return {**fields, **extra}


def save_pretrained(model_dir: str, pretrained: Pretrained, tokenizer=None):
    """Write ``config.json`` and ``model.safetensors`` (and the tokenizer's files when given) to ``model_dir``."""
    from safetensors.numpy import save_file
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(_hf_config(pretrained.kind, pretrained.config), f, indent=2)
    tensors = {k: np.ascontiguousarray(v) for k, v in to_hf(pretrained.kind, pretrained.config,
                                                             pretrained.params).items()}
    save_file(tensors, os.path.join(model_dir, "model.safetensors"), metadata={"format": "pt"})
    if tokenizer is not None:
        tokenizer.save(model_dir)
