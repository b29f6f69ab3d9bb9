"""Classifiers: one encoder with two heads (barriers: sigmoid per label; sentiment: softmax), and the shared
prediction logic every model kind uses — calibration, abstention, long-text roll-up and evidence.

``predict`` takes a string or a list of strings and returns one ``Prediction`` or a list of the same length.
Evidence is found by occlusion: each jieba word is deleted in turn and the drop in a predicted label's
probability is that word's weight, so it reflects what the model actually used. Offsets point into the input as
given, before normalisation.
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, overload

import numpy as np

from feedbackml.artifacts import ModelFolderError, model_version, read_json, verify_folder
from feedbackml.labels import BARRIERS, SENTIMENTS
from feedbackml.text import NORMALIZATION_VERSION, normalize, segment

EVIDENCE_PER_LABEL = 3
EVIDENCE_MAX_WORDS = 128  # occlusion cost grows with words; longer comments use their first 128 words
_MIN_EVIDENCE_WEIGHT = 0.01
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")
_CLAUSE_END = re.compile(r"(?<=[,，、:：])")


@dataclass(frozen=True)
class Evidence:
    """A word that raised the probability of ``label`` by ``weight`` (occlusion drop)."""

    word: str
    start: int
    end: int
    label: str
    weight: float


@dataclass(frozen=True)
class Prediction:
    barriers: tuple[str, ...]
    barrier_probs: dict[str, float]
    sentiment: str
    sentiment_probs: dict[str, float]
    needs_review: bool
    evidence: tuple[Evidence, ...] = ()
    split: bool = False  # the comment was longer than the encoder takes and was scored sentence by sentence

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["barriers"] = list(self.barriers)
        data["evidence"] = [asdict(item) for item in self.evidence]
        return data


@dataclass
class Calibration:
    """Decisions fixed on dev after training."""

    thresholds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(BARRIERS, 0.5))
    temperature: float = 1.0
    # needs_review when a barrier probability lies within this margin of its threshold …
    barrier_margin: float = 0.0
    # … or when the most likely sentiment is less probable than this.
    sentiment_min_confidence: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            thresholds={label: float(data["thresholds"][label]) for label in BARRIERS},
            temperature=float(data["temperature"]),
            barrier_margin=float(data["barrier_margin"]),
            sentiment_min_confidence=float(data["sentiment_min_confidence"]),
        )

    def needs_review(self, barrier_probs: np.ndarray, sentiment_probs: np.ndarray) -> np.ndarray:
        thresholds = np.array([self.thresholds[label] for label in BARRIERS])
        near = (np.abs(barrier_probs - thresholds) < self.barrier_margin).any(axis=1)
        unsure = sentiment_probs.max(axis=1) < self.sentiment_min_confidence
        return near | unsure


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def _rounded(labels: tuple[str, ...], values: np.ndarray) -> dict[str, float]:
    return {label: round(float(value), 4) for label, value in zip(labels, values, strict=True)}


def _is_content(word: str) -> bool:
    return any(unicodedata.category(char)[0] in "LN" for char in word)


class Classifier(ABC):
    """What every model kind shares. Subclasses provide raw logits for texts that fit the model."""

    kind: ClassVar[str]

    def __init__(self, calibration: Calibration | None = None, meta: dict[str, Any] | None = None) -> None:
        self.calibration = calibration or Calibration()
        self.meta = meta or {}

    # --- what a subclass implements ---------------------------------------------------------------------

    @abstractmethod
    def logits(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Barrier logits (n, 3) and sentiment logits (n, 3) for normalised texts that each fit the model."""

    def pieces(self, texts: list[str]) -> list[list[str]]:
        """Each normalised text as the pieces the model can take whole; one piece unless a text is too long."""
        return [[text] for text in texts]

    @abstractmethod
    def save(self, folder: Path) -> None:
        """Write the model's own files (not the manifest) into an empty folder."""

    # --- shared ----------------------------------------------------------------------------------------

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    def probabilities(self, texts: list[str], *, calibrated: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Barrier probabilities, sentiment probabilities and a split flag per input text (raw, any length)."""
        if not texts:
            return np.zeros((0, len(BARRIERS))), np.zeros((0, len(SENTIMENTS))), np.zeros(0, dtype=bool)
        normalized = [normalize(text) for text in texts]
        pieces = self.pieces(normalized)
        flat = [piece for text_pieces in pieces for piece in text_pieces]
        barrier_logits, sentiment_logits = self.logits(flat) if flat else (np.zeros((0, 3)), np.zeros((0, 3)))
        temperature = self.calibration.temperature if calibrated else 1.0
        barrier_flat, sentiment_flat = sigmoid(barrier_logits), softmax(sentiment_logits, temperature)
        barrier_probs = np.zeros((len(texts), len(BARRIERS)))
        sentiment_probs = np.zeros((len(texts), len(SENTIMENTS)))
        split = np.zeros(len(texts), dtype=bool)
        position = 0
        for index, text_pieces in enumerate(pieces):
            count = len(text_pieces)
            rows = slice(position, position + count)
            # A barrier anywhere in a long comment is a barrier of the comment; its tone is the length-weighted
            # mean of the tones of its parts.
            barrier_probs[index] = barrier_flat[rows].max(axis=0)
            weights = np.array([max(len(piece), 1) for piece in text_pieces], dtype=float)
            sentiment_probs[index] = (sentiment_flat[rows] * weights[:, None]).sum(axis=0) / weights.sum()
            split[index] = count > 1
            position += count
        return barrier_probs, sentiment_probs, split

    @overload
    def predict(self, texts: str, *, evidence: bool = ...) -> Prediction: ...
    @overload
    def predict(self, texts: list[str], *, evidence: bool = ...) -> list[Prediction]: ...

    def predict(self, texts: str | list[str], *, evidence: bool = False) -> Prediction | list[Prediction]:
        """Labels, probabilities and review flag for one comment or many (same arity back)."""
        single = isinstance(texts, str)
        batch = [texts] if single else list(texts)
        barrier_probs, sentiment_probs, split = self.probabilities(batch)
        review = self.calibration.needs_review(barrier_probs, sentiment_probs)
        predictions = []
        for index, text in enumerate(batch):
            barriers = tuple(
                label
                for column, label in enumerate(BARRIERS)
                if barrier_probs[index, column] >= self.calibration.thresholds[label]
            )
            sentiment = SENTIMENTS[int(sentiment_probs[index].argmax())]
            found: tuple[Evidence, ...] = ()
            if evidence:
                found = self.evidence(text, barriers, sentiment, barrier_probs[index], sentiment_probs[index])
            predictions.append(
                Prediction(
                    barriers=barriers,
                    barrier_probs=_rounded(BARRIERS, barrier_probs[index]),
                    sentiment=sentiment,
                    sentiment_probs=_rounded(SENTIMENTS, sentiment_probs[index]),
                    needs_review=bool(review[index]),
                    evidence=found,
                    split=bool(split[index]),
                )
            )
        return predictions[0] if single else predictions

    def evidence(
        self,
        text: str,
        barriers: tuple[str, ...],
        sentiment: str,
        barrier_probs: np.ndarray,
        sentiment_probs: np.ndarray,
    ) -> tuple[Evidence, ...]:
        """Occlusion: delete each word, re-score once in a batch, and keep the words whose removal lowers a
        predicted label's probability the most."""
        words = [piece for piece in segment(text) if _is_content(piece.word)][:EVIDENCE_MAX_WORDS]
        if not words:
            return ()
        variants = [text[: piece.start] + text[piece.end :] for piece in words]
        variant_barriers, variant_sentiment, _ = self.probabilities(variants)
        found: list[Evidence] = []
        targets = [
            (label, barrier_probs[BARRIERS.index(label)], variant_barriers[:, BARRIERS.index(label)])
            for label in barriers
        ]
        column = SENTIMENTS.index(sentiment)
        targets.append((sentiment, sentiment_probs[column], variant_sentiment[:, column]))
        for label, original, occluded in targets:
            drops = original - occluded
            for index in np.argsort(-drops)[:EVIDENCE_PER_LABEL]:
                if drops[index] >= _MIN_EVIDENCE_WEIGHT:
                    piece = words[int(index)]
                    found.append(Evidence(piece.word, piece.start, piece.end, label, round(float(drops[index]), 4)))
        return tuple(found)


# --- encoder -----------------------------------------------------------------------------------------------


def split_to_fit(text: str, fits: Any) -> list[str]:
    """Split text at sentence, then clause, boundaries into pieces for which ``fits(piece)`` holds, packing
    neighbouring sentences together; a clause that still does not fit is halved until it does."""
    if fits(text):
        return [text]
    for pattern in (_SENTENCE_END, _CLAUSE_END):
        parts = [part for part in pattern.split(text) if part]
        if len(parts) > 1:
            pieces: list[str] = []
            current = ""
            for part in parts:
                if current and fits(current + part):
                    current += part
                    continue
                if current:
                    pieces.append(current)
                current = part
            pieces.append(current)
            return [small for piece in pieces for small in split_to_fit(piece, fits)]
    middle = len(text) // 2
    if middle == 0:
        return [text]
    return split_to_fit(text[:middle], fits) + split_to_fit(text[middle:], fits)


class EncoderClassifier(Classifier):
    """A transformer encoder with mean (or CLS) pooling and two linear heads."""

    kind = "encoder"

    def __init__(
        self,
        net: Any,
        tokenizer: Any,
        *,
        max_length: int,
        text_prefix: str = "",
        batch_size: int = 32,
        calibration: Calibration | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(calibration, meta)
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.text_prefix = text_prefix
        self.batch_size = batch_size
        self._prefix_tokens = len(tokenizer(text_prefix, add_special_tokens=False)["input_ids"]) if text_prefix else 0

    def token_counts(self, texts: list[str]) -> list[int]:
        """Tokens each text needs, special tokens and prefix included."""
        # verbose=False: counting a long text is expected here and needs no "sequence too long" warning
        encoded = self.tokenizer([self.text_prefix + t for t in texts], add_special_tokens=True, verbose=False)[
            "input_ids"
        ]
        return [len(ids) for ids in encoded]

    def pieces(self, texts: list[str]) -> list[list[str]]:
        counts = self.token_counts(texts)

        def fits(piece: str) -> bool:
            return self.token_counts([piece])[0] <= self.max_length

        return [
            [text] if count <= self.max_length else split_to_fit(text, fits)
            for text, count in zip(texts, counts, strict=True)
        ]

    def logits(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths share padding
        barrier_out = np.zeros((len(texts), len(BARRIERS)), dtype=np.float32)
        sentiment_out = np.zeros((len(texts), len(SENTIMENTS)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                indices = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [self.text_prefix + texts[i] for i in indices],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                barrier_logits, sentiment_logits = self.net(batch["input_ids"], batch["attention_mask"])
                barrier_out[indices] = barrier_logits.float().numpy()
                sentiment_out[indices] = sentiment_logits.float().numpy()
        return barrier_out, sentiment_out

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        self.net.encoder.save_pretrained(folder / "encoder", safe_serialization=True)
        heads = {f"barrier_head.{k}": v for k, v in self.net.barrier_head.state_dict().items()}
        heads |= {f"sentiment_head.{k}": v for k, v in self.net.sentiment_head.state_dict().items()}
        save_file({k: v.contiguous() for k, v in heads.items()}, str(folder / "heads.safetensors"))
        self.tokenizer.save_pretrained(folder / "tokenizer")
        write_model_config(
            folder,
            kind=self.kind,
            calibration=self.calibration,
            meta=self.meta,
            extra={"max_length": self.max_length, "text_prefix": self.text_prefix, "pooling": self.net.pooling},
        )

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any]) -> EncoderClassifier:
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        encoder = AutoModel.from_pretrained(
            folder / "encoder",
            local_files_only=True,
            trust_remote_code=False,
            use_safetensors=True,
            add_pooling_layer=False,
        )
        tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer", local_files_only=True, trust_remote_code=False)
        net = build_net(encoder, pooling=config["pooling"], dropout=0.0)
        heads = load_file(str(folder / "heads.safetensors"))
        net.barrier_head.load_state_dict({k.split(".", 1)[1]: v for k, v in heads.items() if k.startswith("barrier")})
        net.sentiment_head.load_state_dict(
            {k.split(".", 1)[1]: v for k, v in heads.items() if k.startswith("sentiment")}
        )
        return cls(
            net,
            tokenizer,
            max_length=int(config["max_length"]),
            text_prefix=str(config.get("text_prefix", "")),
            calibration=Calibration.from_json(config["calibration"]),
            meta=config.get("meta", {}),
        )


def build_net(encoder: Any, *, pooling: str = "mean", dropout: float = 0.1) -> Any:
    """The trainable network: encoder, pooling, dropout, a barrier head and a sentiment head."""
    import torch
    from torch import nn

    class FeedbackNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.pooling = pooling
            self.dropout = nn.Dropout(dropout)
            hidden = encoder.config.hidden_size
            self.barrier_head = nn.Linear(hidden, len(BARRIERS))
            self.sentiment_head = nn.Linear(hidden, len(SENTIMENTS))

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            pooled = self.dropout(pooled)
            return self.barrier_head(pooled), self.sentiment_head(pooled)

    return FeedbackNet()


# --- folders -----------------------------------------------------------------------------------------------

MODEL_CONFIG = "config.json"


def write_model_config(
    folder: Path, *, kind: str, calibration: Calibration, meta: dict[str, Any], extra: dict[str, Any]
) -> None:
    import json

    config = {
        "kind": kind,
        "labels": {"barriers": list(BARRIERS), "sentiments": list(SENTIMENTS)},
        "normalization_version": NORMALIZATION_VERSION,
        "calibration": calibration.to_json(),
        "meta": meta,
        **extra,
    }
    (folder / MODEL_CONFIG).write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")


def load_model(folder: str | Path, *, verify: bool = True) -> Classifier:
    """Load any model folder written by ``feedbackml train``, refusing it if the manifest does not match."""
    folder = Path(folder)
    manifest = verify_folder(folder) if verify else {}
    model = _load_verified(folder)
    model.meta["version"] = model_version(manifest) if manifest else "unverified"
    model.meta["manifest"] = {k: manifest.get(k) for k in ("created", "git_commit", "metrics", "data")}
    return model


def load_baseline(folder: str | Path, *, verify: bool = True) -> Classifier | None:
    """The TF-IDF baseline stored beside an encoder model (trained on the same data), if there is one.
    ``verify=False`` when ``load_model`` has just checked the same folder: its manifest covers the baseline."""
    folder = Path(folder)
    if not (folder / "baseline" / MODEL_CONFIG).is_file():
        return None
    if verify:
        verify_folder(folder)
    model = _load_verified(folder / "baseline")
    model.meta["version"] = "baseline"
    return model


def _load_verified(folder: Path) -> Classifier:
    from feedbackml.baseline import TfidfClassifier

    config = read_json(folder / MODEL_CONFIG)
    labels = config.get("labels", {})
    if labels.get("barriers") != list(BARRIERS) or labels.get("sentiments") != list(SENTIMENTS):
        raise ModelFolderError(f"{folder}: labels {labels} differ from this feedbackml's {BARRIERS}/{SENTIMENTS}")
    if config.get("normalization_version") != NORMALIZATION_VERSION:
        raise ModelFolderError(
            f"{folder}: trained with text normalisation v{config.get('normalization_version')}, this feedbackml "
            f"uses v{NORMALIZATION_VERSION}; retrain the model"
        )
    kinds: dict[str, type[Classifier]] = {"encoder": EncoderClassifier, "tfidf": TfidfClassifier}
    if config.get("kind") not in kinds:
        raise ModelFolderError(f"{folder}: unknown model kind {config.get('kind')!r} (expected encoder or tfidf)")
    return kinds[config["kind"]].load(folder, config)  # type: ignore[attr-defined,no-any-return]
