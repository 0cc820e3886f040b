"""jaxml's GPT-2, BERT and RoBERTa against Hugging Face transformers (PyTorch) on tiny random models:
import from a saved folder, logits on padded batches, greedy generation, fill-mask, tokenizers, export."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest


class _ImportedOnUse:
    """``torch``/``transformers`` imported by the first test that uses them (skipped when missing):
    collecting this file costs no 3.7 s import in the xdist workers that never run its tests."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        return getattr(pytest.importorskip(self._name), attr)


torch, transformers = _ImportedOnUse("torch"), _ImportedOnUse("transformers")

from jaxml.pretrained.convert import CheckpointError, load_pretrained, load_state_dict, save_pretrained  # noqa: E402
from jaxml.pretrained.generate import make_generate  # noqa: E402
from jaxml.pretrained.pipelines import fill_mask, generate_text  # noqa: E402
from jaxml.pretrained.tokenizer import load_tokenizer, train_bpe, train_wordpiece  # noqa: E402

TEXT = ["The quick brown fox jumps over the lazy dog.", "I got a good grade in my class today!",
        "Once upon a time, there was a little house in the woods.", "She sells sea shells by the sea shore.",
        "It was the best of times, it was the worst of times."] * 4
SMALL = dict(n_layer=2, n_head=4, n_embd=32)
BERT_SMALL = dict(num_hidden_layers=2, num_attention_heads=4, hidden_size=32, intermediate_size=64,
                  initializer_range=0.2)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Tiny random HF models (and tokenizers) saved with save_pretrained: {name: (folder, hf_model)}."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("hf")
    wp = train_wordpiece(iter(TEXT), vocab_size=120, min_frequency=1)
    bpe = train_bpe(iter(TEXT), vocab_size=300, min_frequency=1)
    made = {}
    gpt2_cfg = transformers.GPT2Config(vocab_size=bpe.vocab_size, n_positions=64, initializer_range=0.2,
                                       bos_token_id=bpe.eos_token_id, eos_token_id=bpe.eos_token_id, **SMALL)
    bert_cfg = transformers.BertConfig(vocab_size=wp.vocab_size, max_position_embeddings=64, **BERT_SMALL)
    roberta_cfg = transformers.RobertaConfig(vocab_size=100, max_position_embeddings=66, **BERT_SMALL)
    for name, cls, cfg, tok in (("gpt2", transformers.GPT2LMHeadModel, gpt2_cfg, bpe),
                                ("bert", transformers.BertForMaskedLM, bert_cfg, wp),
                                ("roberta", transformers.RobertaForMaskedLM, roberta_cfg, None)):
        model = cls(cfg).eval()
        folder = str(root / name)
        model.save_pretrained(folder)
        if tok is not None:
            tok.save(folder)
        made[name] = (folder, model)
    return made


def _padded(rng, vocab, pad, left):
    ids = rng.integers(4, vocab, (3, 9))
    mask = np.ones_like(ids)
    for row, n in ((1, 3), (2, 6)):
        if left:
            mask[row, :n] = 0
        else:
            mask[row, -n:] = 0
    ids[mask == 0] = pad
    return ids, mask


@pytest.mark.parametrize("name", ["gpt2", "bert", "roberta"])
def test_logits_match_transformers_on_padded_batches(folders, name):
    folder, hf = folders[name]
    pre = load_pretrained(folder)
    pad = hf.config.pad_token_id if name != "gpt2" else 0
    ids, mask = _padded(np.random.default_rng(0), hf.config.vocab_size, pad, left=name == "gpt2")
    kwargs = {}
    if name == "gpt2":  # left padding: real tokens at positions 0, 1, ...
        pos = np.maximum(mask.cumsum(-1) - 1, 0)
        kwargs["position_ids"] = pos
    with torch.no_grad():
        ref = hf(torch.tensor(ids), attention_mask=torch.tensor(mask),
                 **{k: torch.tensor(v) for k, v in kwargs.items()}).logits.numpy()
    apply = jax.jit(lambda p, *a: pre.model.apply({"params": p}, *a))
    ours = np.asarray(apply(pre.params, jnp.asarray(ids), jnp.asarray(mask),
                            *(jnp.asarray(v) for v in kwargs.values())))
    real = mask.astype(bool)
    assert np.abs(ref[real]).max() > 0.5  # the weights are large enough for errors to show
    np.testing.assert_allclose(ours[real], ref[real], atol=1e-4, rtol=0)


def test_greedy_generation_equals_transformers_token_for_token(folders):
    folder, hf = folders["gpt2"]
    pre = load_pretrained(folder)
    eos = hf.config.eos_token_id
    ids, mask = _padded(np.random.default_rng(1), hf.config.vocab_size, eos, left=True)
    with torch.no_grad():
        ref = hf.generate(torch.tensor(ids), attention_mask=torch.tensor(mask), max_new_tokens=10, do_sample=False,
                          pad_token_id=eos).numpy()
    generate = make_generate(pre.model)
    ours = generate(pre.params, ids, mask, max_new_tokens=10)
    np.testing.assert_array_equal(ours, ref)
    # EOS: make the model's first greedy choice for row 0 the EOS token -> that row pads afterwards.
    first = ours[0, ids.shape[1]]
    out = generate(pre.params, ids, mask, max_new_tokens=10, eos_token_id=int(first), pad_token_id=eos)
    with torch.no_grad():
        ref = hf.generate(torch.tensor(ids), attention_mask=torch.tensor(mask), max_new_tokens=10, do_sample=False,
                          eos_token_id=int(first), pad_token_id=eos).numpy()
    np.testing.assert_array_equal(out, ref)
    assert (out[0, ids.shape[1] + 1:] == eos).all()
    assert generate.cache_size() == 1


def test_tokenizers_round_trip_and_agree_with_transformers(folders):
    for name in ("gpt2", "bert"):
        folder, _ = folders[name]
        ours = load_tokenizer(folder)
        theirs = transformers.AutoTokenizer.from_pretrained(folder)
        for text in ("Once upon a time, the lazy fox!", "I got a [MASK] in my class."):
            ids = ours.encode(text)
            assert ids == theirs(text)["input_ids"]
            assert ours.decode(ids) == theirs.decode(ids, skip_special_tokens=True)
        assert ours.mask_token_id == theirs.mask_token_id and ours.pad_token_id == theirs.pad_token_id
    bpe = load_tokenizer(folders["gpt2"][0])
    text = "Zebras café — 42 odd bytes ☃."  # unseen characters: byte-level BPE still round-trips exactly
    assert bpe.decode(bpe.encode(text)) == text


def test_fill_mask_equals_transformers_pipeline(folders):
    folder, hf = folders["bert"]
    pre, tok = load_pretrained(folder), load_tokenizer(folder)
    pipe = transformers.pipeline("fill-mask", model=hf, tokenizer=transformers.AutoTokenizer.from_pretrained(folder),
                                 device="cpu")
    for text in ("I got a [MASK] in my class.", "the quick [MASK] fox"):
        ref, ours = pipe(text, top_k=5), fill_mask(pre.model, pre.params, tok, text, top_k=5)
        assert [r["token"] for r in ours] == [r["token"] for r in ref]
        assert [r["token_str"] for r in ours] == [r["token_str"] for r in ref]
        assert [r["sequence"] for r in ours] == [r["sequence"] for r in ref]
        np.testing.assert_allclose([r["score"] for r in ours], [r["score"] for r in ref], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="no mask token"):
        fill_mask(pre.model, pre.params, tok, "nothing to fill")


def test_generate_text_pipeline_decodes_the_greedy_continuation(folders):
    folder, hf = folders["gpt2"]
    pre, tok = load_pretrained(folder), load_tokenizer(folder)
    hf_tok = transformers.AutoTokenizer.from_pretrained(folder)
    prompts = ["Once upon a time,", "The lazy dog"]
    out = generate_text(pre.model, pre.params, tok, prompts, max_new_tokens=8)
    for prompt, result in zip(prompts, out):
        ids = hf_tok(prompt, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            ref = hf.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=tok.eos_token_id)[0]
        assert result == [{"generated_text": prompt + hf_tok.decode(ref[ids.shape[1]:], skip_special_tokens=True)}]
    # Sampling: the same compiled program (same batch and lengths), other tokens.
    sampled = generate_text(pre.model, pre.params, tok, prompts, max_new_tokens=8, do_sample=True, top_k=20,
                            rng=jax.random.key(0))
    assert [s[0]["generated_text"][:len(p)] for s, p in zip(sampled, prompts)] == prompts
    assert sampled != out


@pytest.mark.parametrize("name", ["gpt2", "bert", "roberta"])
def test_export_round_trip_loads_in_transformers_with_the_same_logits(folders, tmp_path, name):
    folder, hf = folders[name]
    pre = load_pretrained(folder)
    out = str(tmp_path / "export")
    save_pretrained(out, pre)
    auto = transformers.AutoModelForCausalLM if name == "gpt2" else transformers.AutoModelForMaskedLM
    back = auto.from_pretrained(out).eval()
    ids = torch.tensor(np.random.default_rng(2).integers(4, hf.config.vocab_size, (2, 7)))
    with torch.no_grad():
        np.testing.assert_allclose(back(ids).logits.numpy(), hf(ids).logits.numpy(), atol=1e-5, rtol=0)
    reloaded = load_pretrained(out)
    for a, b in zip(jax.tree.leaves(reloaded.params), jax.tree.leaves(pre.params)):
        np.testing.assert_array_equal(a, b)


def test_pytorch_bin_and_mismatched_checkpoints(folders, tmp_path):
    folder, hf = folders["gpt2"]
    sd = load_state_dict(folder)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    torch.save({k: torch.tensor(v) for k, v in sd.items()}, str(bin_dir / "pytorch_model.bin"))
    with open(os.path.join(folder, "config.json")) as f:
        (bin_dir / "config.json").write_text(f.read())
    a, b = load_pretrained(str(bin_dir)), load_pretrained(folder)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
        np.testing.assert_array_equal(x, y)
    # One tensor missing, one unknown: both named in one error.
    bad = {k: torch.tensor(v) for k, v in sd.items() if k != "transformer.h.1.ln_2.weight"}
    bad["transformer.h.0.attn.rotary.weight"] = torch.zeros(3)
    torch.save(bad, str(bin_dir / "pytorch_model.bin"))
    with pytest.raises(CheckpointError) as err:
        load_pretrained(str(bin_dir))
    assert "missing: h.1.ln_2.weight" in str(err.value) and "unknown: h.0.attn.rotary.weight" in str(err.value)


def test_roberta_fill_mask_equals_a_direct_computation_from_transformers(folders):
    from tokenizers import Tokenizer as Backend
    from tokenizers import models, pre_tokenizers, processors, trainers

    from jaxml.pretrained.tokenizer import Tokenizer

    folder, hf = folders["roberta"]
    special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # ids 0..4: <pad> = 1 = RoBERTa's pad_token_id
    backend = Backend(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.train_from_iterator(TEXT, trainers.BpeTrainer(vocab_size=hf.config.vocab_size, special_tokens=special,
                                                          show_progress=False))
    backend.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tok = Tokenizer(backend)
    assert tok.vocab_size <= hf.config.vocab_size and tok.mask_token == "<mask>" and tok.pad_token_id == 1
    pre = load_pretrained(folder)
    text = "I got a <mask> in my class."
    ours = fill_mask(pre.model, pre.params, tok, text, top_k=5)
    ids = tok.encode(text)
    with torch.no_grad():
        logits = hf(torch.tensor([ids])).logits[0, ids.index(tok.mask_token_id)]
    probs = torch.softmax(logits, -1)
    scores, tokens = probs.topk(5)
    assert [r["token"] for r in ours] == tokens.tolist()
    np.testing.assert_allclose([r["score"] for r in ours], scores.numpy(), atol=1e-5, rtol=0)
    assert ours[0]["sequence"] == tok.decode([t if t != tok.mask_token_id else ours[0]["token"] for t in ids])
