"""The TF-IDF model: jieba words + character 1–3-grams, logistic regression per barrier and for sentiment.

It trains in seconds and is always reported beside the fine-tuned encoder, so every figure has a floor to be
judged against. It is saved without pickle: vocabularies and settings as JSON, IDF weights and coefficients as
safetensors, and the scikit-learn objects are rebuilt from them on load.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.artifacts import read_json
from feedbackml.labels import BARRIER_OF_CAUSE, BARRIERS, CAUSES, SENTIMENTS
from feedbackml.model.classifier import Classifier, PieceLogits
from feedbackml.model.format import write_model_config
from feedbackml.model.types import Calibration
from feedbackml.text import words

_VECTORIZERS = ("words", "chars")


def _word_analyzer(text: str) -> list[str]:
    return [word.lower() for word in words(text) if not word.isspace()]


def _make_vectorizers(vocabularies: dict[str, dict[str, int]] | None = None) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vocabularies = vocabularies or {}
    return {
        "words": TfidfVectorizer(
            analyzer=_word_analyzer, sublinear_tf=True, min_df=2, vocabulary=vocabularies.get("words")
        ),
        "chars": TfidfVectorizer(
            analyzer="char",
            ngram_range=(1, 3),
            sublinear_tf=True,
            min_df=2,
            lowercase=True,
            vocabulary=vocabularies.get("chars"),
        ),
    }


class TfidfClassifier(Classifier):
    kind = "tfidf"

    def __init__(
        self,
        vectorizers: dict[str, Any],
        barrier_weights: np.ndarray,
        barrier_bias: np.ndarray,
        sentiment_weights: np.ndarray,
        sentiment_bias: np.ndarray,
        cause_weights: np.ndarray | None = None,
        cause_bias: np.ndarray | None = None,
        *,
        calibration: Calibration | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(calibration, meta)
        self.vectorizers = vectorizers
        self.barrier_weights, self.barrier_bias = barrier_weights, barrier_bias
        self.sentiment_weights, self.sentiment_bias = sentiment_weights, sentiment_bias
        self.cause_weights, self.cause_bias = cause_weights, cause_bias

    def features(self, texts: list[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([self.vectorizers[name].transform(texts) for name in _VECTORIZERS]).tocsr()

    def piece_logits(self, texts: list[str]) -> PieceLogits:
        """Every text is one piece: TF-IDF takes any length."""
        products = np.asarray(self.features(texts) @ self._columns)
        barrier = products[:, : len(BARRIERS)] + self.barrier_bias
        sentiment = products[:, len(BARRIERS) : len(BARRIERS) + len(SENTIMENTS)] + self.sentiment_bias
        causes = products[:, len(BARRIERS) + len(SENTIMENTS) :]  # no columns when the model has no cause head
        if self.cause_bias is not None:
            causes = causes + self.cause_bias
        return PieceLogits([[text] for text in texts], barrier, sentiment, causes)

    @functools.cached_property
    def _columns(self) -> np.ndarray:
        """Every head's weights as the columns of one C-ordered matrix: one sparse product per call, and scipy
        copies a transposed (Fortran-ordered) operand on every product."""
        heads = [self.barrier_weights, self.sentiment_weights, self.cause_weights]
        return np.ascontiguousarray(np.vstack([head for head in heads if head is not None]).T)

    @classmethod
    def fit(
        cls,
        texts: list[str],
        barriers: np.ndarray,
        sentiments: np.ndarray,
        causes: np.ndarray | None = None,
        *,
        c: float = 4.0,
        seed: int = 13,
    ) -> TfidfClassifier:
        """Fit on normalised texts; ``barriers`` is (n, 3) of 0/1, ``sentiments`` class indices, ``causes``
        (n, 14) of 0/1 with rows of -1 where a record has no cause labels (see ``labels.cause_arrays``)."""
        from scipy.sparse import hstack
        from sklearn.linear_model import LogisticRegression

        vectorizers = _make_vectorizers()
        features = hstack([vectorizers[name].fit_transform(texts) for name in _VECTORIZERS]).tocsr()
        barrier_models = [
            LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed).fit(
                features, barriers[:, column]
            )
            for column in range(len(BARRIERS))
        ]
        sentiment_model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed).fit(
            features, sentiments
        )
        if list(sentiment_model.classes_) != list(range(len(SENTIMENTS))):
            raise ValueError("every sentiment must occur in the training data")
        cause_weights = cause_bias = None
        if causes is not None and (causes >= 0).all(axis=1).any():
            cause_weights = np.zeros((len(CAUSES), features.shape[1]))
            cause_bias = np.full(len(CAUSES), -10.0)  # a cause never seen present stays off
            for column, code in enumerate(CAUSES):
                # each cause is learnt among the records whose gold barrier holds it (a cause is a reason *for*)
                rows = (causes[:, column] >= 0) & barriers[:, BARRIERS.index(BARRIER_OF_CAUSE[code])].astype(bool)
                target = causes[rows, column]
                if len(set(target.tolist())) == 2:
                    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed)
                    model.fit(features[rows], target)
                    cause_weights[column], cause_bias[column] = model.coef_[0], model.intercept_[0]
        return cls(
            vectorizers,
            np.vstack([model.coef_[0] for model in barrier_models]),
            np.array([model.intercept_[0] for model in barrier_models]),
            sentiment_model.coef_,
            sentiment_model.intercept_,
            cause_weights,
            cause_bias,
        )

    def save(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        vocabularies = {
            name: {term: int(index) for term, index in self.vectorizers[name].vocabulary_.items()}
            for name in _VECTORIZERS
        }
        (folder / "vocabulary.json").write_text(json.dumps(vocabularies, ensure_ascii=False), encoding="utf-8")
        tensors = {
            **{f"idf.{name}": self.vectorizers[name].idf_ for name in _VECTORIZERS},
            "barrier.weight": self.barrier_weights,
            "barrier.bias": self.barrier_bias,
            "sentiment.weight": self.sentiment_weights,
            "sentiment.bias": self.sentiment_bias,
        }
        if self.cause_weights is not None and self.cause_bias is not None:
            tensors |= {"cause.weight": self.cause_weights, "cause.bias": self.cause_bias}
        # safetensors writes the raw buffer: scikit-learn's coef_ can be Fortran-ordered, so force C order.
        save_file(
            {key: np.ascontiguousarray(value, dtype=np.float64) for key, value in tensors.items()},
            str(folder / "weights.safetensors"),
        )
        write_model_config(folder, kind=self.kind, calibration=self.calibration, meta=self.meta, extra={})

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any]) -> TfidfClassifier:
        from safetensors.numpy import load_file

        vocabularies = read_json(folder / "vocabulary.json")
        tensors = load_file(str(folder / "weights.safetensors"))
        vectorizers = _make_vectorizers(vocabularies)
        for name in _VECTORIZERS:
            vectorizers[name].idf_ = tensors[f"idf.{name}"]
        return cls(
            vectorizers,
            tensors["barrier.weight"],
            tensors["barrier.bias"],
            tensors["sentiment.weight"],
            tensors["sentiment.bias"],
            tensors.get("cause.weight"),
            tensors.get("cause.bias"),
            calibration=Calibration.from_json(config["calibration"]),
            meta=config.get("meta", {}),
        )
