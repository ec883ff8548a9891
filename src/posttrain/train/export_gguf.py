"""GGUF export: a merged Llama-architecture model as one ``.gguf`` file for llama.cpp.

Written with the ``gguf`` package (llama.cpp's own writer) after the logic of llama.cpp's
``convert_hf_to_gguf.py`` for ``LlamaForCausalLM`` (SmolLM2 is one):

* tensors renamed to llama.cpp's names (``blk.{i}.attn_q.weight`` ...); the query and
  key projections permuted from the Hugging Face rotary layout (halves) to GGML's
  (interleaved pairs), as the converter does;
* ``q8_0``: every matrix in Q8_0; ``q4_0``: every block matrix in Q4_0 and the token
  embedding (also the output head when the embeddings are tied) in Q8_0, as llama.cpp's
  quantiser keeps the head at higher precision; norms stay F32. A matrix whose rows do
  not split into 32-value blocks stays F32;
* the tokenizer as llama.cpp's ``gpt2`` (byte-level BPE) vocabulary: tokens, token types
  (special tokens are control tokens), merges, special token ids and the chat template,
  so llama.cpp tokenises and renders conversations as transformers does. The
  pre-tokenizer is read from ``tokenizer.json``: byte-level alone is ``gpt-2``; digits
  split one by one before it (SmolLM2) is ``smollm``.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np

from posttrain.errors import UsageError

__all__ = ["GGUF_TYPES", "GgufType", "write_gguf"]

GgufType = Literal["q8_0", "q4_1", "q4_0"]
GGUF_TYPES: tuple[GgufType, ...] = ("q8_0", "q4_1", "q4_0")

_BLOCK = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_LAYER = re.compile(r"^model\.layers\.(\d+)\.(.+)\.weight$")


def _gguf_name(hf_name: str) -> str:
    if hf_name == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf_name == "model.norm.weight":
        return "output_norm.weight"
    if hf_name == "lm_head.weight":
        return "output.weight"
    match = _LAYER.match(hf_name)
    if match and match.group(2) in _BLOCK:
        return f"blk.{match.group(1)}.{_BLOCK[match.group(2)]}.weight"
    raise UsageError(
        f"GGUF export: no llama.cpp name for tensor {hf_name!r}",
        hint="GGUF export supports plain Llama-architecture models (LlamaForCausalLM)",
    )


def _permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """Hugging Face's rotary layout (first half, second half) -> GGML's (pairs)."""
    rows = weights.shape[0]
    return (
        weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _pre_tokenizer(tokenizer_json: dict[str, Any]) -> str:
    """llama.cpp's name for the tokenizer's pre-tokenizer (``tokenizer.ggml.pre``)."""
    pre = tokenizer_json.get("pre_tokenizer") or {}
    parts = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    kinds = [p.get("type") for p in parts]
    if kinds == ["ByteLevel"]:
        return "gpt-2"
    if kinds == ["Digits", "ByteLevel"] and parts[0].get("individual_digits"):
        return "smollm"
    raise UsageError(
        f"GGUF export: unsupported pre-tokenizer {kinds} in tokenizer.json",
        hint="GGUF export knows byte-level BPE tokenizers (GPT-2 style, SmolLM2)",
    )


def _vocab(tokenizer: Any, n_vocab: int) -> tuple[list[str], list[int]]:
    """Token strings and llama.cpp token types, one per embedding row."""
    import gguf

    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    added = {tok.content: tok for tok in tokenizer.added_tokens_decoder.values()}
    tokens: list[str] = []
    types: list[int] = []
    for i in range(n_vocab):
        tok = by_id.get(i)
        if tok is None:  # embedding rows past the tokenizer (padding to a multiple)
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif tok in added:
            tokens.append(tok)
            special = added[tok].special
            types.append(gguf.TokenType.CONTROL if special else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(tok)
            types.append(gguf.TokenType.NORMAL)
    return tokens, types


def _quant_type(gguf_name: str, data: np.ndarray, kind: GgufType) -> Any:
    import gguf

    Q = gguf.GGMLQuantizationType
    if data.ndim < 2 or gguf_name.endswith("_norm.weight"):
        return Q.F32
    if data.shape[-1] % 32:  # Q4_0 and Q8_0 quantise rows in blocks of 32
        return Q.F32
    if kind == "q8_0" or gguf_name in ("token_embd.weight", "output.weight"):
        return Q.Q8_0
    return Q.Q4_1 if kind == "q4_1" else Q.Q4_0


def write_gguf(model: Any, tokenizer: Any, dest: Path, kind: GgufType, *, name: str) -> str:
    """Write ``model`` (a float32 ``LlamaForCausalLM``) and ``tokenizer`` as ``dest``.

    Returns a one-line description of the method. Raises :class:`UsageError` for a model
    or tokenizer this writer does not know.
    """
    import gguf

    cfg = model.config
    if getattr(cfg, "model_type", None) != "llama":
        raise UsageError(
            f"GGUF export supports Llama-architecture models; this one is "
            f"{getattr(cfg, 'model_type', '?')!r}",
            hint="export fp32/bf16/fp16/int8 for other architectures",
        )
    # transformers 5 keeps rope settings in rope_parameters (rope_scaling is its alias).
    rope = dict(getattr(cfg, "rope_parameters", None) or getattr(cfg, "rope_scaling", None) or {})
    if rope.get("rope_type", "default") != "default":
        raise UsageError(
            f"GGUF export: rope type {rope.get('rope_type')!r} is not supported",
            hint="export fp32/bf16 instead",
        )
    rope_theta = float(rope.get("rope_theta") or getattr(cfg, "rope_theta", None) or 10000.0)
    n_head, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        tok_json = json.loads((Path(tmp) / "tokenizer.json").read_text(encoding="utf-8"))
        pre = _pre_tokenizer(tok_json)
        special = gguf.SpecialVocab(tmp, load_merges=True, n_vocab=cfg.vocab_size)

    file_type = {
        "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
        "q4_1": gguf.LlamaFileType.MOSTLY_Q4_1,
        "q4_0": gguf.LlamaFileType.MOSTLY_Q4_0,
    }[kind]
    writer = gguf.GGUFWriter(str(dest), "llama")
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name)
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_freq_base(rope_theta)
    writer.add_layer_norm_rms_eps(float(cfg.rms_norm_eps))
    writer.add_vocab_size(cfg.vocab_size)
    writer.add_rope_dimension_count(head_dim)
    writer.add_file_type(file_type)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    tokens, types = _vocab(tokenizer, cfg.vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    if not special.merges:
        # llama.cpp refuses a gpt2 vocabulary without the merges key; a byte-level
        # vocabulary with no merges (the tiny test model) has an empty list.
        writer.add_array(gguf.Keys.Tokenizer.MERGES, [""])
    special.add_to_gguf(writer)
    # Whether the tokenizer puts BOS / EOS around a text, said explicitly (llama.cpp's
    # own default for a gpt2 vocabulary may differ from transformers').
    probe = tokenizer("a")["input_ids"]
    if "bos" not in special.add_special_token:
        writer.add_add_bos_token(bool(probe) and probe[0] == tokenizer.bos_token_id)
    if "eos" not in special.add_special_token:
        writer.add_add_eos_token(bool(probe) and probe[-1] == tokenizer.eos_token_id)

    state = model.state_dict()
    tied = bool(getattr(cfg, "tie_word_embeddings", False))
    for hf_name, tensor in state.items():
        if hf_name.endswith("rotary_emb.inv_freq") or (tied and hf_name == "lm_head.weight"):
            continue
        data = tensor.detach().to("cpu").float().numpy()
        if hf_name.endswith("self_attn.q_proj.weight"):
            data = _permute(data, n_head)
        elif hf_name.endswith("self_attn.k_proj.weight"):
            data = _permute(data, n_kv)
        gname = _gguf_name(hf_name)
        qtype = _quant_type(gname, data, kind)
        if qtype == gguf.GGMLQuantizationType.F32:
            writer.add_tensor(gname, np.ascontiguousarray(data, dtype=np.float32))
        else:
            packed = gguf.quants.quantize(np.ascontiguousarray(data), qtype)
            writer.add_tensor(gname, packed, raw_shape=packed.shape, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    if kind == "q8_0":
        return "gguf Q8_0 (norms F32), llama.cpp tensor layout"
    return (
        f"gguf {kind.upper()} blocks, token embedding/head Q8_0, norms F32, llama.cpp tensor layout"
    )
