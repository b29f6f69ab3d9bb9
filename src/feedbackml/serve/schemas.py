"""Request and response bodies of the classify service; they also make the OpenAPI document at /docs."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from feedbackml.labels import BARRIERS, CAUSES, SENTIMENTS
from feedbackml.model import Prediction
from feedbackml.serve.errors import ErrorType

# The label vocabularies as enums, so the OpenAPI document lists them and generated clients get typed values.
Barrier = StrEnum("Barrier", {code: code for code in BARRIERS})  # type: ignore[misc]
Cause = StrEnum("Cause", {code: code for code in CAUSES})  # type: ignore[misc]
Sentiment = StrEnum("Sentiment", {code: code for code in SENTIMENTS})  # type: ignore[misc]

MAX_DEPARTMENT_CHARS = 200  # as for id: a department name, or a path of them (运营中心/超市-生鲜组), never a comment


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200, description="Your identifier, echoed back.")
    text: str = Field(description="The comment. Empty, control-character or over-long texts get an in-place error.")
    department: str | None = Field(
        None,
        max_length=MAX_DEPARTMENT_CHARS,
        description="The writer's own department (optional): never returned in about. Not echoed back.",
    )


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evidence: bool | None = Field(None, description="Return the words behind each label (slower). Default: server's.")


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"id": "c1", "text": "采购那边总说与我无关,流程也没写清楚谁负责", "department": "研发部"},
                        {"id": "c2", "text": "谢谢IT同事周末加班帮我们恢复系统!"},
                    ],
                    "options": {"evidence": True},
                }
            ]
        },
    )

    items: list[Item] = Field(
        min_length=1, description="Comments to classify (at most FEEDBACKML_MAX_ITEMS), each with a unique id."
    )
    options: Options = Field(default_factory=Options)

    @field_validator("items")
    @classmethod
    def _unique_ids(cls, items: list[Item]) -> list[Item]:
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            if item.id in first:  # the id is not repeated in the message: say where, not what
                raise ValueError(f"items {first[item.id]} and {index} have the same id (expected one id per item)")
            first[item.id] = index
        return items


class ErrorBody(BaseModel):
    error_type: ErrorType
    message: str
    index: int | None = Field(None, description="The item the error is about, if any.")
    request_id: str


class BarrierResult(BaseModel):
    labels: list[Barrier] = Field(description="Barriers over their thresholds.")
    probabilities: dict[str, float] = Field(description="Probability of each of the three barriers.")


class SentimentResult(BaseModel):
    label: Sentiment
    probabilities: dict[str, float]


class EvidenceSpan(BaseModel):
    word: str
    start: int
    end: int
    label: str
    weight: float


class CauseResult(BaseModel):
    labels: list[Cause] = Field(description="Causes (labels.md §3) under the predicted barriers; at least one each.")
    probabilities: dict[str, float] = Field(description="Probability of each cause; empty for a model without causes.")


class ItemResult(BaseModel):
    id: str
    barriers: BarrierResult
    causes: CauseResult
    about: list[str] = Field(
        description="Other departments the comment is about (labels.md §4), in order of first mention: found by "
        "rules, named as in FEEDBACKML_ORG_FILE when the server has one, never the item's own department."
    )
    sentiment: SentimentResult
    needs_review: bool
    uncertainty: float = Field(
        ge=0.0,
        le=1.0,
        description="0–1, larger is less sure: the closest decision, raised when the blend's members "
        "disagree. Rank a labelling queue by it.",
    )
    evidence: list[EvidenceSpan]
    truncated: bool = Field(description="The text was cut to FEEDBACKML_MAX_CHARS before scoring.")
    split: bool = Field(description="The text was longer than the encoder's window and scored by sentences.")

    @classmethod
    def from_prediction(
        cls, item_id: str, prediction: Prediction, truncated: bool, about: list[str] | None = None
    ) -> ItemResult:
        return cls(
            id=item_id,
            barriers=BarrierResult(labels=list(prediction.barriers), probabilities=prediction.barrier_probs),
            causes=CauseResult(labels=list(prediction.causes), probabilities=prediction.cause_probs),
            about=list(about or ()),
            sentiment=SentimentResult(label=prediction.sentiment, probabilities=prediction.sentiment_probs),
            needs_review=prediction.needs_review,
            uncertainty=prediction.uncertainty,
            evidence=[EvidenceSpan(**vars(item)) for item in prediction.evidence],
            truncated=truncated,
            split=prediction.split,
        )


class ItemErrorDetail(BaseModel):
    error_type: ErrorType
    message: str
    index: int | None = Field(None, description="The item's position in the request.")
    request_id: str


class ItemError(BaseModel):
    id: str
    error: ItemErrorDetail = Field(description="What was wrong with this item; the others still ran.")


class ClassifyResponse(BaseModel):
    model_version: str
    results: list[ItemResult | ItemError]


class UpgradeStatus(BaseModel):
    state: Literal["training", "swapping", "served", "failed"] = Field(
        description="training: a better model is on its way; served: it replaced the first one."
    )
    target: str = Field(description="The folder the better model is published to.")
    detail: str = ""


class ModelInfo(BaseModel):
    model_version: str
    kind: str
    model_dir: str = Field(description="The folder the served model was loaded from.")
    upgrade: UpgradeStatus | None = Field(None, description="A better model training beside this one, if any.")
    labels: dict[str, list[str]]
    thresholds: dict[str, float]
    temperature: float
    base_model: dict[str, Any]
    metrics: dict[str, Any]
    created: str | None


class ReloadResponse(BaseModel):
    previous_version: str
    model_version: str


class Readiness(BaseModel):
    status: Literal["ready"]
    model_version: str
    upgrade: Literal["training", "swapping", "served", "failed"] | None = Field(
        None, description="Whether a better model is on its way (serve --build); null when none was asked for."
    )
