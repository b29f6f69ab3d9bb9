from __future__ import annotations

import random
from pathlib import Path

from typer.testing import CliRunner

from feedbackml.cli import app
from feedbackml.data.records import LabelledRecord, load_labelled
from feedbackml.model import Prediction
from feedbackml.robustness import VARIANTS, format_robustness, robustness_report
from tests.conftest import LABELLED


def test_each_variant_edits_the_text_or_says_it_does_not_apply() -> None:
    rng = random.Random(0)
    text = "采购部门的流程太长，审批在老板那里卡了三周！"
    for kind, make in VARIANTS.items():
        changed = make(text, rng)
        assert changed is not None and changed != text, kind
    assert VARIANTS["traditional"](text, rng) == "採購部門的流程太長，審批在老闆那裏卡了三週！"
    assert VARIANTS["width"](text, rng) == "采购部门的流程太长,审批在老板那里卡了三周!"
    assert VARIANTS["english"](text, rng) == "采购部门的process太长，审批在老板那里卡了三周！"
    assert VARIANTS["typo"]("OK", rng) is None and VARIANTS["english"]("好", rng) is None


class _Constant:
    """A model whose answer never depends on the text: nothing may flip."""

    def predict(self, texts: list[str]) -> list[Prediction]:
        return [Prediction(("objective",), {}, "negative", {}, False, causes=("process",)) for _ in texts]


class _Length:
    """A model that reads length only: appending anything can flip its sentiment, never its barriers."""

    def predict(self, texts: list[str]) -> list[Prediction]:
        return [Prediction((), {}, "negative" if len(t) % 2 else "neutral", {}, False) for t in texts]


def test_rates_count_what_changed_over_the_comments_a_kind_applies_to() -> None:
    records = [LabelledRecord(f"r{i}", text, (), "neutral") for i, text in enumerate(["流程太长", "好", "系统不通啊"])]
    steady = robustness_report(_Constant(), records, comments=10)  # type: ignore[arg-type]
    assert steady["comments"] == 3 and steady["kinds"]["prefix"]["n"] == 3
    assert steady["kinds"]["english"]["n"] == 2  # "好" has no word to translate
    assert all(row["any_flipped"] == 0 for row in steady["kinds"].values())
    moving = robustness_report(_Length(), records, comments=10)  # type: ignore[arg-type]
    assert moving["kinds"]["emoji"]["sentiment_flipped"] == 1.0  # one character more flips every parity
    assert moving["kinds"]["emoji"]["barriers_flipped"] == 0.0
    assert "emoji" in format_robustness(moving)


def test_robustness_cli_on_the_tiny_model(tiny_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "sample.jsonl"
    data.write_text(
        "".join(line + "\n" for line in (LABELLED / "test.jsonl").read_text(encoding="utf-8").splitlines()[:20]),
        encoding="utf-8",
    )
    assert len(load_labelled([data])) == 20
    result = CliRunner().invoke(
        app, ["robustness", "--model", str(tiny_model), "--data", str(data), "--comments", "12"]
    )
    assert result.exit_code == 0, result.output
    assert "12 comments" in result.output and "traditional" in result.output and "overall" in result.output
