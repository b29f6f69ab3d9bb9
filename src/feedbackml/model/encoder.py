"""The fine-tuned encoder model: tokenization, long-text splitting and length-sorted batching around a
``Backend`` that computes the logits (torch, or ONNX Runtime fp32/int8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.labels import BARRIERS, SENTIMENTS
from feedbackml.model.backends import Backend, Logits, TorchBackend, load_backend
from feedbackml.model.batching import length_batches, pad_batch, split_to_fit
from feedbackml.model.classifier import Classifier, PieceLogits
from feedbackml.model.format import BASELINE_FOLDER, read_model_config, write_model_config
from feedbackml.model.types import Calibration

TOKENIZER_DIR = "tokenizer"


def load_tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder / TOKENIZER_DIR, local_files_only=True, trust_remote_code=False)


class EncoderClassifier(Classifier):
    """A transformer encoder with mean (or CLS) pooling and three linear heads, run by ``backend``; optionally
    blended with a ``companion`` model (the folder's TF-IDF baseline) that holds ``companion_weight`` of every
    logit: two models that err differently, and whose disagreement marks the comments to review."""

    kind = "encoder"

    def __init__(
        self,
        backend: Backend,
        tokenizer: Any,
        *,
        max_length: int,
        text_prefix: str = "",
        pooling: str = "mean",
        batch_size: int = 32,
        calibration: Calibration | None = None,
        meta: dict[str, Any] | None = None,
        companion: Classifier | None = None,
        companion_weight: float = 0.0,
    ) -> None:
        super().__init__(calibration, meta)
        self.backend = backend
        self.companion = companion
        self.companion_weight = companion_weight
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.text_prefix = text_prefix
        self.pooling = pooling
        self.batch_size = batch_size
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    @property
    def runtime(self) -> str:
        return self.backend.name

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, prefix and special tokens included, not truncated (one batched call)."""
        if not texts:
            return []
        # verbose=False: a long text is expected here (it is split next) and needs no "sequence too long" warning
        encoded = self.tokenizer([self.text_prefix + t for t in texts], add_special_tokens=True, verbose=False)
        return [list(ids) for ids in encoded["input_ids"]]

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

    def piece_logits(self, texts: list[str]) -> PieceLogits:
        own = self.own_piece_logits(texts)
        if self.companion is None or not self.companion_weight:
            return own
        return blend(
            own,
            self.companion.piece_logits([piece for parts in own.pieces for piece in parts]),
            self.companion_weight,
            self.companion.calibration.threshold_array(),
        )

    def own_piece_logits(self, texts: list[str]) -> PieceLogits:
        """The encoder's logits alone, without its companion."""
        pieces, ids = self.encode_pieces(texts)
        return PieceLogits(pieces, *self.logits_from_ids(ids))

    def logits_from_ids(self, ids: list[list[int]]) -> Logits:
        """Logits of token-id sequences, in length-sorted batches padded only to their own longest."""
        barrier_out = np.zeros((len(ids), len(BARRIERS)), dtype=np.float32)
        sentiment_out = np.zeros((len(ids), len(SENTIMENTS)), dtype=np.float32)
        cause_out: np.ndarray | None = None
        # a piece that split_to_fit could not bring under the limit (one huge "character") keeps its end token
        ids = [seq if len(seq) <= self.max_length else [*seq[: self.max_length - 1], seq[-1]] for seq in ids]
        for indices in length_batches([len(seq) for seq in ids], self.batch_size):
            batch = pad_batch([ids[i] for i in indices], self.pad_id)
            barrier_out[indices], sentiment_out[indices], causes = self.backend.forward(*batch)
            if cause_out is None:
                cause_out = np.zeros((len(ids), causes.shape[1]), dtype=np.float32)
            cause_out[indices] = causes
        return barrier_out, sentiment_out, cause_out if cause_out is not None else np.zeros((0, 0), dtype=np.float32)

    def padded(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """One padded batch of normalised texts, truncated to ``max_length`` (export checks and timing)."""
        return pad_batch([seq[: self.max_length] for seq in self.encode(texts)], self.pad_id)

    def save(self, folder: Path) -> None:
        if not isinstance(self.backend, TorchBackend):
            raise TypeError(
                f"a model run by {self.runtime} holds no weights to save: load it with runtime='torch' to save it"
            )
        self.backend.net.save(folder)
        self.tokenizer.save_pretrained(folder / TOKENIZER_DIR)
        write_model_config(
            folder,
            kind=self.kind,
            calibration=self.calibration,
            meta=self.meta,
            extra={
                "max_length": self.max_length,
                "text_prefix": self.text_prefix,
                "pooling": self.pooling,
                "companion_weight": self.companion_weight if self.companion is not None else 0.0,
            },
        )

    @classmethod
    def load(
        cls,
        folder: Path,
        config: dict[str, Any],
        *,
        runtime: str,
        threads: int = 1,
        device: str = "cpu",
        precision: str = "fp32",
    ) -> EncoderClassifier:
        weight = float(config.get("companion_weight", 0.0))
        companion = None
        if weight:
            from feedbackml.model.tfidf import TfidfClassifier

            baseline = folder / BASELINE_FOLDER
            companion = TfidfClassifier.load(baseline, read_model_config(baseline))
        return cls(
            load_backend(
                folder, runtime, pooling=str(config["pooling"]), threads=threads, device=device, precision=precision
            ),
            load_tokenizer(folder),
            max_length=int(config["max_length"]),
            text_prefix=str(config.get("text_prefix", "")),
            pooling=str(config["pooling"]),
            calibration=Calibration.from_json(config["calibration"]),
            meta=config.get("meta", {}),
            companion=companion,
            companion_weight=weight,
        )


def blend(own: PieceLogits, other: PieceLogits, weight: float, other_thresholds: np.ndarray) -> PieceLogits:
    """``other`` (one piece per row of ``own``) holds ``weight`` of each logit. The members disagree on a piece when
    alone they would decide a barrier (own at 0.5, other at its calibrated thresholds) or the sentiment differently."""
    other_cut = np.log(other_thresholds / (1 - other_thresholds))
    disagree = ((own.barriers >= 0) != (other.barriers >= other_cut)).any(axis=1) | (
        own.sentiment.argmax(axis=1) != other.sentiment.argmax(axis=1)
    )
    causes = own.causes
    if other.causes.shape == own.causes.shape and own.causes.size:
        causes = (1 - weight) * own.causes + weight * other.causes
    return PieceLogits(
        own.pieces,
        (1 - weight) * own.barriers + weight * other.barriers,
        (1 - weight) * own.sentiment + weight * other.sentiment,
        causes,
        disagree,
    )
