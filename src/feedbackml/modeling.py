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
# Comments with more content words than this are occluded coarse to fine: first spans of up to
# EVIDENCE_SPAN_WORDS words within a clause, then single words only inside the EVIDENCE_SPANS_PER_LABEL spans
# whose deletion lowers each predicted label most. Measured on the 30 first test comments with more than 24 words
# (models/default, int8): 44% less time, but the same top word for only 72% of (comment, label) pairs and the
# same top three for 33%. So the default stays word by word (this equals EVIDENCE_MAX_WORDS); callers that
# prefer speed pass ``exhaustive_words`` to ``evidence_many``.
EVIDENCE_EXHAUSTIVE_WORDS = EVIDENCE_MAX_WORDS
EVIDENCE_SPAN_WORDS = 6
EVIDENCE_SPANS_PER_LABEL = 2
MAX_PADDING = 0.25  # a forward batch pads its comments by at most a quarter of their real tokens
_BOUNDARY = re.compile(r"[。！？!?；;\n,，、:：]")
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
    runtime: str = "native"  # what computes the logits; encoders: torch, onnx or onnx-int8

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

    def piece_logits(self, texts: list[str]) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
        """The pieces of each normalised text and the logits of every piece, in order. Encoders override this
        to tokenize each text once for both the length check and the forward pass."""
        pieces = self.pieces(texts)
        flat = [piece for text_pieces in pieces for piece in text_pieces]
        if not flat:
            return pieces, np.zeros((0, len(BARRIERS))), np.zeros((0, len(SENTIMENTS)))
        return (pieces, *self.logits(flat))

    # --- shared ----------------------------------------------------------------------------------------

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    def probabilities(self, texts: list[str], *, calibrated: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Barrier probabilities, sentiment probabilities and a split flag per input text (raw, any length)."""
        if not texts:
            return np.zeros((0, len(BARRIERS))), np.zeros((0, len(SENTIMENTS))), np.zeros(0, dtype=bool)
        normalized = [normalize(text) for text in texts]
        pieces, barrier_logits, sentiment_logits = self.piece_logits(normalized)
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
        labels = [
            (
                tuple(
                    label
                    for column, label in enumerate(BARRIERS)
                    if barrier_probs[index, column] >= self.calibration.thresholds[label]
                ),
                SENTIMENTS[int(sentiment_probs[index].argmax())],
            )
            for index in range(len(batch))
        ]
        found = self.evidence_many(batch, labels, barrier_probs, sentiment_probs) if evidence else [()] * len(batch)
        predictions = []
        for index, (barriers, sentiment) in enumerate(labels):
            predictions.append(
                Prediction(
                    barriers=barriers,
                    barrier_probs=_rounded(BARRIERS, barrier_probs[index]),
                    sentiment=sentiment,
                    sentiment_probs=_rounded(SENTIMENTS, sentiment_probs[index]),
                    needs_review=bool(review[index]),
                    evidence=found[index],
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
        """Evidence for one comment (see ``evidence_many``)."""
        return self.evidence_many([text], [(barriers, sentiment)], barrier_probs[None], sentiment_probs[None])[0]

    def evidence_many(
        self,
        texts: list[str],
        labels: list[tuple[tuple[str, ...], str]],
        barrier_probs: np.ndarray,
        sentiment_probs: np.ndarray,
        *,
        exhaustive_words: int = EVIDENCE_EXHAUSTIVE_WORDS,
    ) -> list[tuple[Evidence, ...]]:
        """Occlusion: delete words, re-score, and keep the words whose removal lowers a predicted label's
        probability the most. Every variant of every comment is scored in one length-sorted run (duplicates
        once). A comment with more than ``exhaustive_words`` content words is first occluded span by span, and
        only the words of its most important spans one by one; otherwise each content word costs a forward."""
        words = [[piece for piece in segment(text) if _is_content(piece.word)][:EVIDENCE_MAX_WORDS] for text in texts]
        candidates = [list(range(len(text_words))) for text_words in words]
        coarse = [index for index, text_words in enumerate(words) if len(text_words) > exhaustive_words]
        if coarse:
            spans = {index: _spans(texts[index], words[index]) for index in coarse}
            drops = self._occlusion_drops(
                {
                    index: [(words[index][s[0]].start, words[index][s[-1]].end) for s in spans[index]]
                    for index in coarse
                },
                texts,
                labels,
                barrier_probs,
                sentiment_probs,
            )
            for index in coarse:
                keep: set[int] = set()
                for label_drops in drops[index].values():
                    for row in np.argsort(-label_drops, kind="stable")[:EVIDENCE_SPANS_PER_LABEL]:
                        keep.update(spans[index][int(row)])
                candidates[index] = sorted(keep)
        drops = self._occlusion_drops(
            {
                index: [(words[index][w].start, words[index][w].end) for w in candidates[index]]
                for index in range(len(texts))
            },
            texts,
            labels,
            barrier_probs,
            sentiment_probs,
        )
        found_all: list[tuple[Evidence, ...]] = []
        for index, text_words in enumerate(words):
            found: list[Evidence] = []
            for label, label_drops in drops[index].items():
                for row in np.argsort(-label_drops, kind="stable")[:EVIDENCE_PER_LABEL]:
                    if label_drops[row] >= _MIN_EVIDENCE_WEIGHT:
                        piece = text_words[candidates[index][int(row)]]
                        weight = round(float(label_drops[row]), 4)
                        found.append(Evidence(piece.word, piece.start, piece.end, label, weight))
            found_all.append(tuple(found))
        return found_all

    def _occlusion_drops(
        self,
        cuts: dict[int, list[tuple[int, int]]],
        texts: list[str],
        labels: list[tuple[tuple[str, ...], str]],
        barrier_probs: np.ndarray,
        sentiment_probs: np.ndarray,
    ) -> dict[int, dict[str, np.ndarray]]:
        """For each comment and each of its predicted labels, how much deleting each (start, end) cut lowers
        the label's probability; all variants scored together."""
        row_of: dict[str, int] = {}
        rows = {
            index: [row_of.setdefault(texts[index][:start] + texts[index][end:], len(row_of)) for start, end in spans]
            for index, spans in cuts.items()
        }
        variant_barriers, variant_sentiment, _ = self.probabilities(list(row_of))
        result: dict[int, dict[str, np.ndarray]] = {}
        for index, text_rows in rows.items():
            barriers, sentiment = labels[index]
            result[index] = {}
            if not text_rows:
                continue
            for label in barriers:
                column = BARRIERS.index(label)
                result[index][label] = barrier_probs[index, column] - variant_barriers[text_rows, column]
            column = SENTIMENTS.index(sentiment)
            result[index][sentiment] = sentiment_probs[index, column] - variant_sentiment[text_rows, column]
        return result


def _spans(text: str, words: list[Any]) -> list[list[int]]:
    """Consecutive content words grouped into spans that never cross a clause boundary and hold at most
    ``EVIDENCE_SPAN_WORDS`` words; returns word indices."""
    spans: list[list[int]] = []
    for index, piece in enumerate(words):
        if (
            spans
            and len(spans[-1]) < EVIDENCE_SPAN_WORDS
            and not _BOUNDARY.search(text[words[index - 1].end : piece.start])
        ):
            spans[-1].append(index)
        else:
            spans.append([index])
    return spans


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
    """A transformer encoder with mean (or CLS) pooling and two linear heads, run by torch. Subclasses that run
    the same network elsewhere (``feedbackml.runtime``) replace ``forward`` only: tokenization, batching,
    long-text splitting, calibration and evidence stay here."""

    kind = "encoder"
    runtime = "torch"

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
        self.net = net.eval() if net is not None else None
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.text_prefix = text_prefix
        self.batch_size = batch_size
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._prefix_tokens = len(tokenizer(text_prefix, add_special_tokens=False)["input_ids"]) if text_prefix else 0

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, prefix and special tokens included, not truncated (one batched call)."""
        if not texts:
            return []
        # verbose=False: a long text is expected here (it is split next) and needs no "sequence too long" warning
        encoded = self.tokenizer([self.text_prefix + t for t in texts], add_special_tokens=True, verbose=False)
        return [list(ids) for ids in encoded["input_ids"]]

    def token_counts(self, texts: list[str]) -> list[int]:
        """Tokens each text needs, special tokens and prefix included."""
        return [len(ids) for ids in self.encode(texts)]

    def encode_pieces(self, texts: list[str]) -> tuple[list[list[str]], list[list[int]]]:
        """Pieces of each text (split only when too long) and the token ids of every piece, in order; every
        text and every candidate piece is tokenized once."""
        known: dict[str, list[int]] = {}

        def fits(piece: str) -> bool:
            if piece not in known:
                known[piece] = self.encode([piece])[0]
            return len(known[piece]) <= self.max_length

        pieces: list[list[str]] = []
        flat: list[list[int]] = []
        for text, ids in zip(texts, self.encode(texts), strict=True):
            if len(ids) <= self.max_length:
                pieces.append([text])
                flat.append(ids)
                continue
            known[text] = ids
            parts = split_to_fit(text, fits)
            pieces.append(parts)
            flat.extend(known[part] if part in known else self.encode([part])[0] for part in parts)
        return pieces, flat

    def pieces(self, texts: list[str]) -> list[list[str]]:
        return self.encode_pieces(texts)[0]

    def piece_logits(self, texts: list[str]) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
        pieces, ids = self.encode_pieces(texts)
        return (pieces, *self.logits_from_ids(ids))

    def logits(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return self.logits_from_ids(self.encode(texts))

    def logits_from_ids(self, ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Logits of token-id sequences: sorted by length, in batches padded only to their own longest (see
        ``_length_batches``)."""
        barrier_out = np.zeros((len(ids), len(BARRIERS)), dtype=np.float32)
        sentiment_out = np.zeros((len(ids), len(SENTIMENTS)), dtype=np.float32)
        # a piece that split_to_fit could not bring under the limit (one huge "character") keeps its end token
        ids = [seq if len(seq) <= self.max_length else [*seq[: self.max_length - 1], seq[-1]] for seq in ids]
        for indices in _length_batches([len(seq) for seq in ids], self.batch_size):
            width = len(ids[indices[-1]])
            input_ids = np.full((len(indices), width), self.pad_id, dtype=np.int64)
            attention_mask = np.zeros((len(indices), width), dtype=np.int64)
            for row, i in enumerate(indices):
                input_ids[row, : len(ids[i])] = ids[i]
                attention_mask[row, : len(ids[i])] = 1
            barrier_out[indices], sentiment_out[indices] = self.forward(input_ids, attention_mask)
        return barrier_out, sentiment_out

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Barrier and sentiment logits of one padded batch (int64 arrays of shape (batch, sequence))."""
        import torch

        with torch.inference_mode():
            barrier_logits, sentiment_logits = self.net(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        return barrier_logits.float().numpy(), sentiment_logits.float().numpy()

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


def _length_batches(lengths: list[int], batch_size: int, max_padding: float = MAX_PADDING) -> list[list[int]]:
    """Indices sorted by length, cut into batches of at most ``batch_size`` whose padding adds at most
    ``max_padding`` of their real tokens. On CPU a forward costs about the same per token at batch 4 as at 32,
    so closing a batch is cheap and padding is not: on 64 test comments (e5-small, 1 thread) torch scored 15
    comments/s in one 32-batch padded to its longest, 35 with this rule."""
    batches: list[list[int]] = []
    current: list[int] = []
    real = 0
    for index in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        length = lengths[index]  # the longest so far: lengths ascend
        if current and (
            len(current) == batch_size or (len(current) + 1) * length > (1 + max_padding) * (real + length)
        ):
            batches.append(current)
            current, real = [], 0
        current.append(index)
        real += length
    if current:
        batches.append(current)
    return batches


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


RUNTIMES = ("torch", "onnx", "onnx-int8")
AUTO_RUNTIME = "auto"


def load_model(
    folder: str | Path, *, verify: bool = True, runtime: str | None = None, threads: int | None = None
) -> Classifier:
    """Load any model folder written by ``feedbackml train``, refusing it if the manifest does not match.

    ``runtime`` picks what runs an encoder: ``torch``, ``onnx``, ``onnx-int8``, or None/``auto`` for the default
    that ``feedbackml export`` measured and recorded in the folder's config.json (torch when never exported).
    ``threads`` sets the ONNX Runtime session's intra-op threads (default 1: one per worker on shared cores);
    torch's threads are process-wide and set where a worker starts."""
    folder = Path(folder)
    if runtime not in (None, AUTO_RUNTIME, *RUNTIMES):
        raise ValueError(f"unknown runtime {runtime!r} (expected one of {AUTO_RUNTIME}, {', '.join(RUNTIMES)})")
    manifest = verify_folder(folder) if verify else {}
    model = _load_verified(folder, runtime=runtime, threads=threads)
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


def _load_verified(folder: Path, *, runtime: str | None = None, threads: int | None = None) -> Classifier:
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
    chosen = None if runtime in (None, AUTO_RUNTIME) else runtime
    if config["kind"] != "encoder":
        if chosen not in (None, "torch"):
            raise ModelFolderError(
                f"{folder}: a {config['kind']} model has no {chosen} runtime (expected auto or torch)"
            )
        return kinds[config["kind"]].load(folder, config)  # type: ignore[attr-defined,no-any-return]
    chosen = chosen or config.get("runtimes", {}).get("default", "torch")
    if chosen == "torch":
        return EncoderClassifier.load(folder, config)
    from feedbackml.runtime import OnnxEncoderClassifier

    return OnnxEncoderClassifier.load(folder, config, runtime=chosen, threads=threads or 1)
