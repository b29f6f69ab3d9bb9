"""feedbackml: collaboration barriers and sentiment in Chinese employee feedback."""

from feedbackml.labels import BARRIERS, SENTIMENTS

__version__ = "0.1.0"

__all__ = ["BARRIERS", "SENTIMENTS", "__version__"]
