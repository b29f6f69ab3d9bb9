"""The trainable torch network: encoder, pooling, dropout, a barrier head and a sentiment head.

Imported only where torch runs (training, the torch backend, export), so ONNX-only users never import torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from feedbackml.labels import BARRIERS, CAUSES, SENTIMENTS

ENCODER_DIR = "encoder"
HEADS_FILE = "heads.safetensors"
TOKENIZER_DIR = "tokenizer"


HEADS = ("barrier_head", "sentiment_head", "cause_head")


class FeedbackNet(nn.Module):
    """Three heads on one pooled encoding; ``causes=False`` rebuilds a folder saved before causes existed (its
    cause logits are then (batch, 0))."""

    def __init__(self, encoder: Any, *, pooling: str = "mean", dropout: float = 0.1, causes: bool = True) -> None:
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        hidden = encoder.config.hidden_size
        self.barrier_head = nn.Linear(hidden, len(BARRIERS))
        self.sentiment_head = nn.Linear(hidden, len(SENTIMENTS))
        self.cause_head = nn.Linear(hidden, len(CAUSES)) if causes else None

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self._heads(hidden, attention_mask)

    def prefix(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, layers: int) -> torch.Tensor:
        """Hidden states after the embeddings and the first ``layers`` encoder layers: what training computes once
        and caches when those layers are frozen."""
        hidden = self.encoder.embeddings(input_ids=input_ids)
        mask = self._attention_mask(hidden, attention_mask)
        for layer in self.encoder.encoder.layer[:layers]:
            hidden = layer(hidden, mask)
        return hidden

    def from_prefix(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, layers: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The logits from ``prefix``'s output: the layers after the first ``layers``, pooling and the heads.
        ``from_prefix(prefix(x, m, k), m, k)`` equals ``forward(x, m)``."""
        mask = self._attention_mask(hidden, attention_mask)
        for layer in self.encoder.encoder.layer[layers:]:
            hidden = layer(hidden, mask)
        return self._heads(hidden, attention_mask)

    def _attention_mask(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> Any:
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(
            config=self.encoder.config, inputs_embeds=hidden, attention_mask=attention_mask
        )

    def _heads(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        pooled = self.dropout(pooled)
        causes = self.cause_head(pooled) if self.cause_head is not None else pooled[:, :0]
        return self.barrier_head(pooled), self.sentiment_head(pooled), causes

    def save(self, folder: Path) -> None:
        """Encoder as a Hugging Face folder (safetensors) and both heads in one safetensors file."""
        from safetensors.torch import save_file

        self.encoder.save_pretrained(folder / ENCODER_DIR, safe_serialization=True)
        heads = {
            f"{name}.{key}": value
            for name in HEADS
            if (head := getattr(self, name)) is not None
            for key, value in head.state_dict().items()
        }
        save_file({k: v.contiguous() for k, v in heads.items()}, str(folder / HEADS_FILE))

    @classmethod
    def load(cls, folder: Path, *, pooling: str) -> FeedbackNet:
        from safetensors.torch import load_file
        from transformers import AutoModel

        encoder = AutoModel.from_pretrained(
            folder / ENCODER_DIR,
            local_files_only=True,
            trust_remote_code=False,
            use_safetensors=True,
            add_pooling_layer=False,
        )
        heads = load_file(str(folder / HEADS_FILE))
        net = cls(encoder, pooling=pooling, dropout=0.0, causes=any(key.startswith("cause_head.") for key in heads))
        for name in HEADS:
            if (head := getattr(net, name)) is not None:
                head.load_state_dict({k.split(".", 1)[1]: v for k, v in heads.items() if k.startswith(f"{name}.")})
        return net.eval()
