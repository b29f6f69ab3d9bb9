"""The classify service for HR systems: ``create_app(settings)`` builds a FastAPI app around one model."""

from feedbackml.serve.app import create_app
from feedbackml.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]
