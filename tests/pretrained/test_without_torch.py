"""jaxml.pretrained works without torch and transformers (safetensors' numpy API): a subprocess where
importing either fails saves and loads a folder; only pytorch_model.bin asks for the extra."""
import subprocess
import sys
import textwrap


def test_save_load_without_torch(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None          # any `import torch` now raises ImportError
        sys.modules["transformers"] = None
        import jax, jax.numpy as jnp, numpy as np
        from jaxml.models.bert import Bert, BertConfig
        from jaxml.pretrained.convert import Pretrained, load_pretrained, save_pretrained
        from jaxml.pretrained import pipelines, generate, tokenizer  # noqa: F401
        cfg = BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=16)
        model = Bert(cfg)
        shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 4), jnp.int32))["params"]
        rng = np.random.default_rng(0)  # random numbers of the right shapes: nothing to compile
        params = jax.tree.map(lambda s: rng.normal(size=s.shape).astype(np.float32), shapes)
        save_pretrained(r"{tmp_path}/m", Pretrained("bert", cfg, model, params))
        back = load_pretrained(r"{tmp_path}/m")
        assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(back.params), jax.tree.leaves(params)))
        import os
        os.remove(r"{tmp_path}/m/model.safetensors")
        open(r"{tmp_path}/m/pytorch_model.bin", "wb").close()
        try:
            load_pretrained(r"{tmp_path}/m")
        except ImportError as e:
            assert "'.[bench]'" in str(e) and "pytorch_model.bin" in str(e), e
            print("OK")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("OK")
