"""The peer ``bench`` compares against: the encoder folder run the way a data scientist would write it with
``transformers`` alone — ``AutoModel`` in eager PyTorch, the tokenizer padding each batch of comments to its own
longest, comments in input order, mean pooling and the folder's own heads. No length sorting, no splitting, no
ONNX: what feedbackml's runtimes are measured against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.model.format import read_model_config
from feedbackml.model.network import ENCODER_DIR, HEADS_FILE, TOKENIZER_DIR


class PlainTransformersPeer:
    """Barrier and sentiment logits of a batch of comments, computed with plain ``transformers``."""

    name = "transformers"

    def __init__(self, folder: Path) -> None:
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        config = read_model_config(folder)
        self.prefix = str(config.get("text_prefix", ""))
        self.max_length = int(config["max_length"])
        self.tokenizer = AutoTokenizer.from_pretrained(folder / TOKENIZER_DIR, local_files_only=True)
        self.model = AutoModel.from_pretrained(
            folder / ENCODER_DIR, local_files_only=True, use_safetensors=True, add_pooling_layer=False
        ).eval()
        heads = load_file(str(folder / HEADS_FILE))
        self.heads = [(heads[f"{name}.weight"], heads[f"{name}.bias"]) for name in ("barrier_head", "sentiment_head")]

    def __call__(self, texts: list[str]) -> list[Any]:
        import torch

        inputs = self.tokenizer(
            [self.prefix + text for text in texts],
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        with torch.inference_mode():
            hidden = self.model(**inputs).last_hidden_state
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
            logits = [(pooled @ weight.T + bias).numpy() for weight, bias in self.heads]
        return list(np.concatenate(logits, axis=1))
