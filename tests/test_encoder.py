from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from feedbackml.encoder import (
    EncoderBuildError,
    _dequantize_q4,
    read_e5_image,
    to_bert_state_dict,
    trim_vocabulary,
)


def _quantize_q4(values: np.ndarray) -> bytes:
    """Reference Q4_0 encoder (the inverse of the format in shared/base-encoder.md)."""
    out = bytearray()
    for block in values.reshape(-1, 32):
        scale = np.float16(np.abs(block).max() / 7 or 1.0)
        nibbles = np.clip(np.round(block / np.float32(scale)) + 8, 0, 15).astype(np.uint8)
        out += scale.tobytes() + bytes((nibbles[:16] | (nibbles[16:] << 4)).tolist())
    return bytes(out)


def test_q4_roundtrip() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 64)).astype(np.float32)
    restored = _dequantize_q4(memoryview(_quantize_q4(values)), 4, 64)
    assert restored.shape == (4, 64)
    assert np.abs(restored - values).max() < np.abs(values).max() / 7  # within one quantisation step


def _write_image(path: Path, hidden: int = 32, layers: int = 1, ffn: int = 64, vocab: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    tensors: dict[str, tuple[int, np.ndarray]] = {
        "emb.word": (1, rng.normal(size=(vocab, hidden))),
        "emb.pos": (0, rng.normal(size=(16, hidden))),
        "emb.type": (0, rng.normal(size=(1, hidden))),
        "emb.ln.w": (0, np.ones(hidden)),
        "emb.ln.b": (0, np.zeros(hidden)),
    }
    for i in range(layers):
        for name, shape in (
            ("q", (hidden, hidden)),
            ("k", (hidden, hidden)),
            ("v", (hidden, hidden)),
            ("ao", (hidden, hidden)),
            ("fi", (ffn, hidden)),
            ("fo", (hidden, ffn)),
        ):
            tensors[f"l{i}.{name}.w"] = (1, rng.normal(size=shape))
            tensors[f"l{i}.{name}.b"] = (0, rng.normal(size=shape[0]))
        for name in ("aln", "oln"):
            tensors[f"l{i}.{name}.w"] = (0, np.ones(hidden))
            tensors[f"l{i}.{name}.b"] = (0, np.zeros(hidden))
    pieces = [f"p{i}".encode() for i in range(vocab)]
    header = b"E5S1" + struct.pack("<I", 1) + struct.pack("<7i", hidden, layers, 2, ffn, vocab, 16, 1)
    header += struct.pack("<f", 1e-12) + struct.pack("<i", 32) + struct.pack("<5i", vocab, 0, 2, 1, 3)
    blob = b"".join(pieces)
    offsets = np.cumsum([0] + [len(p) for p in pieces]).astype("<u4").tobytes()
    header += struct.pack("<Q", len(blob)) + offsets + np.zeros(vocab, "<f4").tobytes() + blob
    header += struct.pack("<iI", 0, 0)
    payloads = {
        name: (dtype, _quantize_q4(array.astype(np.float32)) if dtype else array.astype("<f4").tobytes())
        for name, (dtype, array) in tensors.items()
    }
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name in payloads)
    offset = len(header) + directory_size
    directory, body = struct.pack("<i", len(payloads)), b""
    for name, (dtype, payload) in payloads.items():
        count = tensors[name][1].size
        directory += (
            struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(payload))
        )
        offset += len(payload)
        body += payload
    path.write_bytes(header + directory + body)
    return {name: array for name, (_, array) in tensors.items()}


def test_read_synthetic_image_and_map_to_bert(tmp_path: Path) -> None:
    originals = _write_image(tmp_path / "tiny.bin")
    image = read_e5_image(tmp_path / "tiny.bin")
    assert image.config["hidden_size"] == 32 and image.config["vocab_size"] == 8
    np.testing.assert_allclose(image.tensors["emb.pos"], originals["emb.pos"], rtol=1e-6)
    assert np.abs(image.tensors["l0.fi.w"] - originals["l0.fi.w"]).max() < np.abs(originals["l0.fi.w"]).max() / 7
    state = to_bert_state_dict(image)
    assert state["encoder.layer.0.intermediate.dense.weight"].shape == (64, 32)
    assert state["encoder.layer.0.output.dense.weight"].shape == (32, 64)
    assert len(state) == 5 + 16


def test_bad_magic(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(EncoderBuildError, match="not an E5S1 image"):
        read_e5_image(tmp_path / "x.bin")


def test_trim_vocabulary_remaps_ids() -> None:
    tokenizer = {
        "added_tokens": [
            {"id": 0, "content": "<s>"},
            {"id": 1, "content": "<pad>"},
            {"id": 2, "content": "</s>"},
            {"id": 3, "content": "<unk>"},
        ],
        "model": {
            "type": "Unigram",
            "unk_id": 3,
            "vocab": [
                ["<s>", 0],
                ["<pad>", 0],
                ["</s>", 0],
                ["<unk>", 0],
                ["▁审批", -1],
                ["привет", -2],
                ["▁KPI", -3],
                ["สวัสดี", -4],
                ["慢", -5],
            ],
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "special_tokens": {"<s>": {"id": "<s>", "ids": [0]}, "</s>": {"id": "</s>", "ids": [2]}},
        },
    }
    trimmed, keep = trim_vocabulary(json.loads(json.dumps(tokenizer)))
    assert keep.tolist() == [0, 1, 2, 3, 4, 6, 8]
    assert [piece for piece, _ in trimmed["model"]["vocab"]] == ["<s>", "<pad>", "</s>", "<unk>", "▁审批", "▁KPI", "慢"]
    assert trimmed["model"]["unk_id"] == 3


@pytest.mark.slow
def test_real_base_build_loads_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    from transformers import AutoModel, AutoTokenizer

    from feedbackml.encoder import QUERY_PREFIX, build_base

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = build_base(tmp_path / "base")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, add_pooling_layer=False).eval()
    texts = ["采购部总是推诿扯皮,不愿意配合", "采购部门总推卸责任,不肯合作", "食堂的饭菜很好吃"]
    batch = tokenizer([QUERY_PREFIX + t for t in texts], padding=True, return_tensors="pt")
    assert (batch["input_ids"] == tokenizer.unk_token_id).sum() == 0
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    embeddings = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    similarity = embeddings @ embeddings.T
    assert similarity[0, 1] > similarity[0, 2] + 0.05  # a paraphrase is closer than an unrelated comment
