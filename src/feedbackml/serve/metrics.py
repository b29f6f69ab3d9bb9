"""The service's Prometheus metrics, in a registry of its own per app (no global state between apps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from feedbackml.serve.errors import ErrorType

# What counts as a refused request or item in feedbackml_rejections_total, each counted once.
REJECTIONS = frozenset(
    {
        ErrorType.unauthorized,
        ErrorType.payload_too_large,
        ErrorType.malformed_request,
        ErrorType.unsupported_media_type,
        ErrorType.request_timeout,
        ErrorType.validation,
        ErrorType.too_many_items,
        ErrorType.empty_text,
        ErrorType.text_too_long,
        ErrorType.control_characters,
        ErrorType.overloaded,
        ErrorType.timeout,
    }
)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("feedbackml_requests", "HTTP requests", ["route", "status"], registry=r)
        self.latency = Histogram(
            "feedbackml_request_seconds",
            "Request latency",
            ["route"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.in_flight = Gauge("feedbackml_in_flight", "Classify requests in progress", registry=r)
        self.rejections = Counter("feedbackml_rejections", "Refused requests or items", ["reason"], registry=r)
        self.batch_size = Histogram(
            "feedbackml_batch_size", "Comments per model batch", registry=r, buckets=(1, 2, 4, 8, 16, 32, 64, 128)
        )
        self.input_chars = Histogram(
            "feedbackml_input_chars",
            "Characters per comment",
            registry=r,
            buckets=(10, 25, 50, 100, 200, 500, 1000, 2000, 5000),
        )
        self.items = Counter("feedbackml_items", "Comments classified", registry=r)
        self.reloads = Counter("feedbackml_reloads", "Model reloads", ["outcome"], registry=r)

    def reject(self, error_type: ErrorType) -> None:
        """Count one refusal, if ``error_type`` is one (see REJECTIONS)."""
        if error_type in REJECTIONS:
            self.rejections.labels(error_type.value).inc()
