"""Shared fixtures: small labelled files in every supported format, written fresh for each test."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Realistic records covering every label; used wherever a test needs a small valid corpus.
SAMPLE_RECORDS: list[dict[str, Any]] = [
    {
        "id": "s1",
        "text": "采购那边总说与我无关,来料问题一律推给质量部。",
        "barriers": ["subjective"],
        "sentiment": "negative",
        "source": "internal_csat",
        "department": "质量部",
    },
    {
        "id": "s2",
        "text": "报销要在OA和ERP各录一遍,两个系统不通。",
        "barriers": ["objective"],
        "sentiment": "neutral",
        "source": "suggestion_box",
    },
    {
        "id": "s3",
        "text": "区域督导天天替店长排班,店长反而没事干",
        "barriers": ["role_misalignment"],
        "sentiment": "negative",
        "source": "pulse_chat",
        "department": "门店",
    },
    {
        "id": "s4",
        "text": "食堂伙食这个月好了很多,谢谢行政!",
        "barriers": [],
        "sentiment": "positive",
        "source": "engagement_survey",
    },
    {
        "id": "s5",
        "text": "流程没写清楚谁负责,对接人还爱答不理,问三遍才回。",
        "barriers": ["subjective", "objective"],
        "sentiment": "negative",
        "source": "internal_csat",
        "department": "IT运维",
    },
    {
        "id": "s6",
        "text": "以前IT工单要等一周,现在当天就有人处理,点赞👍",
        "barriers": [],
        "sentiment": "positive",
        "source": "pulse_chat",
    },
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def write_csv(path: Path, records: list[dict[str, Any]], encoding: str = "utf-8") -> Path:
    columns = ["id", "text", "barriers", "sentiment", "source", "department"]
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for record in records:
            flat = {**record, "barriers": "|".join(record["barriers"])}
            writer.writerow([flat.get(column, "") for column in columns])
    return path


@pytest.fixture
def jsonl_file(tmp_path: Path) -> Callable[..., Path]:
    def make(records: list[dict[str, Any]] | None = None, name: str = "data.jsonl") -> Path:
        return write_jsonl(tmp_path / name, SAMPLE_RECORDS if records is None else records)

    return make
