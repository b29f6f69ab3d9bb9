"""Models: the ``Classifier`` contract and its result types, the encoder (torch or ONNX Runtime backends) and
TF-IDF kinds, evidence, and the model folder (``load_model``, ``publish_model``, the model card)."""

from feedbackml.model.backends import AUTO_RUNTIME, RUNTIMES
from feedbackml.model.classifier import Classifier
from feedbackml.model.encoder import EncoderClassifier
from feedbackml.model.folder import BASELINE_FOLDER, load_baseline, load_model, publish_model
from feedbackml.model.tfidf import TfidfClassifier
from feedbackml.model.types import Calibration, Evidence, Prediction

__all__ = [
    "AUTO_RUNTIME",
    "BASELINE_FOLDER",
    "RUNTIMES",
    "Calibration",
    "Classifier",
    "EncoderClassifier",
    "Evidence",
    "Prediction",
    "TfidfClassifier",
    "load_baseline",
    "load_model",
    "publish_model",
]
