"""Shared fixtures: small labelled files in every supported format, written fresh for each test."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Realistic records covering every label; used wherever a test needs a small valid corpus.
SAMPLE_RECORDS: list[dict[str, Any]] = [
    {
        "id": "s1",
        "text": "采购那边总说与我无关,来料问题一律推给质量部。",
        "barriers": ["subjective"],
        "sentiment": "negative",
        "source": "internal_csat",
        "department": "质量部",
    },
    {
        "id": "s2",
        "text": "报销要在OA和ERP各录一遍,两个系统不通。",
        "barriers": ["objective"],
        "sentiment": "neutral",
        "source": "suggestion_box",
    },
    {
        "id": "s3",
        "text": "区域督导天天替店长排班,店长反而没事干",
        "barriers": ["role_misalignment"],
        "sentiment": "negative",
        "source": "pulse_chat",
        "department": "门店",
    },
    {
        "id": "s4",
        "text": "食堂伙食这个月好了很多,谢谢行政!",
        "barriers": [],
        "sentiment": "positive",
        "source": "engagement_survey",
    },
    {
        "id": "s5",
        "text": "流程没写清楚谁负责,对接人还爱答不理,问三遍才回。",
        "barriers": ["subjective", "objective"],
        "sentiment": "negative",
        "source": "internal_csat",
        "department": "IT运维",
    },
    {
        "id": "s6",
        "text": "以前IT工单要等一周,现在当天就有人处理,点赞👍",
        "barriers": [],
        "sentiment": "positive",
        "source": "pulse_chat",
    },
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def write_csv(path: Path, records: list[dict[str, Any]], encoding: str = "utf-8") -> Path:
    columns = ["id", "text", "barriers", "sentiment", "source", "department"]
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for record in records:
            flat = {**record, "barriers": "|".join(record["barriers"])}
            writer.writerow([flat.get(column, "") for column in columns])
    return path


@pytest.fixture
def jsonl_file(tmp_path: Path) -> Callable[..., Path]:
    def make(records: list[dict[str, Any]] | None = None, name: str = "data.jsonl") -> Path:
        return write_jsonl(tmp_path / name, SAMPLE_RECORDS if records is None else records)

    return make


REPO = Path(__file__).resolve().parents[1]
LABELLED = REPO / "data" / "labelled"


def corpus_subset(folder: Path, split: str, n: int) -> Path:
    """The first n records of a corpus split, written to folder/<split>.jsonl (fast training data)."""
    lines = (LABELLED / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    path = folder / f"{split}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with a character tokenizer built from the corpus: a real Hugging Face folder,
    made offline in a second, for every test that needs an encoder."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-base")
    characters: set[str] = set()
    for line in (LABELLED / "train.jsonl").read_text(encoding="utf-8").splitlines():
        characters.update(json.loads(line)["text"].lower())
    characters.update("abcdefghijklmnopqrstuvwxyz0123456789")
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = special + sorted(c for c in characters if not c.isspace())
    pieces += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    vocab = {piece: index for index, piece in enumerate(dict.fromkeys(pieces))}
    tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    ).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    return folder


def tiny_config(base: Path, folder: Path, *, train_rows: int = 64, dev_rows: int = 32, **overrides: Any) -> Any:
    """A TrainConfig for a few quick steps of the given base on a corpus subset written into folder."""
    from feedbackml.config import TrainConfig

    settings: dict[str, Any] = {
        "base_model": str(base),
        "out": folder / "model",
        "epochs": 1,
        "max_steps": 4,
        "batch_size": 8,
        "max_length": 48,
        "threads": 1,
        "export_runtimes": False,  # only the session's tiny_model pays for the ONNX export
        "data": {
            "train": [corpus_subset(folder, "train", train_rows)],
            "dev": [corpus_subset(folder, "dev", dev_rows)],
        },
    }
    return TrainConfig(**{**settings, **overrides})


def quiet_train(config: Any) -> Path:
    from feedbackml.trainer import train

    return train(config, log=lambda _: None, progress=False).path


@pytest.fixture(scope="session")
def tiny_model(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny encoder classifier trained for a few steps on a corpus subset (with its TF-IDF baseline)."""
    return quiet_train(
        tiny_config(
            tiny_base,
            tmp_path_factory.mktemp("tiny-model"),
            train_rows=96,
            dev_rows=48,
            max_steps=6,
            export_runtimes=True,
        )
    )
