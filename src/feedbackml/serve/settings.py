"""Every serving limit is a setting with an environment variable (``FEEDBACKML_<NAME>``) and a default here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_keys(value: object) -> object:
    if isinstance(value, str):
        return [SecretStr(part.strip()) for part in value.split(",") if part.strip()]
    return value


def blank_keys_given(value: str | None) -> bool:
    """True when a key variable is set but holds no key (e.g. ' , ,'): worth a warning, it looks like a typo."""
    return value is not None and not _split_keys(value)


class ServeSettings(BaseSettings):
    """Configuration of ``feedbackml serve``; read from the environment, overridable in code and tests."""

    model_config = SettingsConfigDict(env_prefix="FEEDBACKML_", extra="forbid")

    model_dir: Path = Field(Path("models/default"), description="Local model folder; reloads read only this path.")
    org_file: Path | None = Field(
        None,
        description="The analyst's org.csv (name, aliases, optional parent): the department names results' about "
        "uses. Read at start-up (a bad file stops it) and again on each reload.",
    )
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Comma-separated bearer keys for /v1/classify (several allow rotation)."
    )
    admin_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Comma-separated bearer keys for /v1/admin/*."
    )
    dev_mode: bool = Field(False, description="Allow starting without API keys (local development only).")
    host: str = "127.0.0.1"
    port: int = 8000

    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger request bodies get 413 before parsing.")
    max_items: int = Field(64, ge=1, description="Items per classify request; more gets 422 too_many_items.")
    max_chars: int = Field(2000, ge=1, description="Characters per item; longer items get an in-place error.")
    truncate_long_text: bool = Field(
        False, description="Cut items longer than max_chars and flag them truncated instead of refusing them."
    )
    max_in_flight: int = Field(32, ge=1, description="Concurrent classify requests; more get 429 at once.")
    max_queued_items: int = Field(
        128,
        ge=1,
        description="Comments accepted but not yet scored, across requests; a request that would exceed it gets 429 "
        "at once instead of timing out (128 is about 8 s of work for one 2-core worker).",
    )
    retry_after_s: int = Field(1, ge=1, description="Least Retry-After sent with 429 (more when work is queued).")
    request_timeout_s: float = Field(10.0, gt=0, description="A classify request not done by then gets 504.")
    admission_share: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Share of FEEDBACKML_REQUEST_TIMEOUT_S the estimated queued work (this request's included) may "
        "fill; a request whose estimated cost would pass it gets 429 at once instead of a 504 later.",
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="A connection whose request line and headers are not all in by then is closed (408)."
    )
    body_timeout_s: float = Field(
        20.0, gt=0, description="A request body not fully received this long after its headers gets 408 and a close."
    )
    keep_alive_s: int = Field(5, ge=1, description="An idle keep-alive connection is closed after this.")
    max_connections: int = Field(
        256, ge=1, description="Open connections; one more is answered 429 and closed at once (bounds descriptors)."
    )
    batch_max_size: int = Field(32, ge=1, description="Comments the model scores in one batch across callers.")
    batch_max_wait_ms: float = Field(5.0, ge=0, description="How long the batcher waits to fill a batch.")
    evidence_default: bool = Field(False, description="Whether items get evidence when options.evidence is unset.")
    threads: int = Field(1, ge=1, description="torch (or ONNX Runtime) threads of each inference worker.")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Inference threads taking batches from the one queue (default: the number of cores); they share "
        "the model and one admission limit.",
    )
    runtime: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        "auto",
        description="What runs the encoder: auto is the default recorded in the model folder by 'feedbackml "
        "export' (the first of onnx-int8, onnx, torch within 0.5 point of torch's dev macro-F1; torch when never "
        "exported).",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto",
        description="Where torch runs: auto is CUDA when torch sees it (the encoder in torch, fp16), else the CPU; "
        "cuda refuses to start without one.",
    )

    @field_validator("api_keys", "admin_keys", mode="before")
    @classmethod
    def _keys_from_csv(cls, value: object) -> object:
        return _split_keys(value)

    @model_validator(mode="after")
    def _keys_or_dev_mode(self) -> ServeSettings:
        """Settings that would serve without keys do not exist, unless development mode says so explicitly."""
        if not self.api_keys and not self.dev_mode:
            raise ValueError(
                "no API key configured: set FEEDBACKML_API_KEYS (comma-separated) or, for local development only, "
                "FEEDBACKML_DEV_MODE=true"
            )
        return self
