"""Causes and the internal-customer map in the report: cause shares per barrier, group and wave with calibrated
expected shares; the map of who writes about whom, where a small pair appears in no output file; the
per-department view with its change since the previous wave; files of older versions still report."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from feedbackml.labels import CAUSES
from feedbackml.report import ReportOptions, build_report
from feedbackml.report.tally import Scored, Tally, wilson
from tests.test_report import output_bytes, read_csv, scored, write_csv, write_jsonl

OPTIONS = ReportOptions(group_col="department", wave_col="wave", min_group_size=10)
SMALL_PAIR_WORD = "对账单"  # written only in the four 财务部 → 采购部 comments


def row(
    number: int,
    group: str,
    wave: str,
    text: str,
    *,
    about: str = "",
    causes: tuple[str, ...] = (),
    sentiment: str = "neutral",
    barriers: tuple[str, ...] = ("objective",),
    words: tuple[str, ...] = (),
) -> dict[str, Any]:
    base = scored(number, group, wave, text, barriers=barriers, sentiment=sentiment, words=words)
    base["causes"] = "|".join(causes)
    base["about"] = about
    for cause in CAUSES:
        base[f"p_{cause}"] = 0.9 if cause in causes else 0.05
    return base


def survey() -> list[dict[str, Any]]:
    """销售部 writes 24 comments about IT部 (12 per wave, far more negative in Q2), 生产部 24 about 采购部,
    财务部 4 about 采购部 (must stay hidden), plus comments naming nobody."""
    rows: list[dict[str, Any]] = []
    for wave, negatives in (("Q1", 2), ("Q2", 10)):
        for i in range(12):
            sentiment = "negative" if i < negatives else "neutral"
            rows.append(
                row(
                    len(rows),
                    "销售部",
                    wave,
                    f"IT系统又卡了{i}",
                    about="IT部",
                    causes=("systems_info",),
                    sentiment=sentiment,
                )
            )
    for i in range(24):
        rows.append(
            row(len(rows), "生产部", "Q1" if i % 2 else "Q2", f"采购审批太慢{i}", about="采购部", causes=("process",))
        )
    for i in range(4):
        rows.append(
            row(
                len(rows),
                "财务部",
                "Q1",
                f"采购的{SMALL_PAIR_WORD}总是不对{i}",
                about="采购部",
                causes=("unwilling",),
                barriers=("subjective",),
                sentiment="negative",
                words=(SMALL_PAIR_WORD,),
            )
        )
    for i in range(16):
        rows.append(
            row(len(rows), "财务部", "Q1" if i % 2 else "Q2", f"整体还行{i}", barriers=(), sentiment="positive")
        )
    for i in range(4):
        rows.append(row(len(rows), "生产部", "Q1" if i % 2 else "Q2", f"流程有点乱{i}", causes=("process",)))
    return rows


@pytest.fixture(params=["csv", "jsonl"])
def survey_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    writer = write_csv if request.param == "csv" else write_jsonl
    return writer(tmp_path / f"scored.{request.param}", survey())


def test_cause_shares_per_barrier_group_and_wave(survey_file: Path, tmp_path: Path) -> None:
    build_report(survey_file, tmp_path / "report", OPTIONS)
    numbers = json.loads((tmp_path / "report" / "aggregates.json").read_text(encoding="utf-8"))
    objective = next(block for block in numbers["causes"]["overall"] if block["barrier"] == "objective")
    process = next(cause for cause in objective["causes"] if cause["cause"] == "process")
    assert objective["n"] == 52 and process["n"] == 28 and process["name"] == "流程与审批"
    assert process["share_of_barrier"] == round(28 / 52, 4) and process["share"] == round(28 / 72, 4)
    # the mean over scored comments of p_objective x p_process (a cause's probability is given its barrier):
    # 28 process rows 0.8 x 0.9, 24 other objective rows 0.8 x 0.05, 20 rows without objective 0.1 x 0.05
    expected = (28 * 0.72 + 24 * 0.04 + 20 * 0.005) / 72
    assert math.isclose(process["expected"]["share"], round(expected, 4))
    assert process["expected"]["low"] < process["expected"]["share"] < process["expected"]["high"]
    groups = {entry["group"] for entry in numbers["causes"]["groups"]}
    assert groups == {"销售部", "生产部", "财务部"}
    assert [entry["wave"] for entry in numbers["causes"]["waves"]] == ["Q1", "Q2"]
    rows = read_csv(tmp_path / "report" / "causes.csv")
    assert {row["scope"] for row in rows} == {"overall", "group", "wave"} and len(rows) == (1 + 3 + 2) * len(CAUSES)


def test_the_map_ranks_pairs_and_hides_a_four_comment_pair_everywhere(survey_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    build_report(survey_file, out, OPTIONS)
    numbers = json.loads((out / "aggregates.json").read_text(encoding="utf-8"))
    internal = numbers["internal"]
    shown = {(pair["from"], pair["about"]): pair for pair in internal["pairs"]}
    assert ("财务部", "采购部") not in shown and internal["hidden_pairs"] >= 1
    top = internal["pairs"][0]
    assert (top["from"], top["about"], top["n"], top["negative"]["n"]) == ("销售部", "IT部", 24, 12)
    assert top["top_causes"][0]["cause"] == "systems_info"
    # 采购部's column total would give the hidden pair away by subtraction: 生产部 → 采购部 is hidden too
    assert ("生产部", "采购部") not in shown
    for name, content in output_bytes(out).items():
        assert SMALL_PAIR_WORD.encode() not in content, name
        assert "采购的".encode() not in content, name  # none of its comments is quoted
    pairs = read_csv(out / "pairs.csv")
    assert [(pair["from"], pair["about"]) for pair in pairs] == [(p["from"], p["about"]) for p in internal["pairs"]]


def test_control_with_a_lower_threshold_the_small_pair_shows(survey_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    build_report(survey_file, out, ReportOptions(group_col="department", wave_col="wave", min_group_size=4))
    internal = json.loads((out / "aggregates.json").read_text(encoding="utf-8"))["internal"]
    assert ("财务部", "采购部") in {(pair["from"], pair["about"]) for pair in internal["pairs"]}
    assert SMALL_PAIR_WORD in (out / "report.html").read_text(encoding="utf-8")


def test_department_view_flags_the_planted_change(survey_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    build_report(survey_file, out, OPTIONS)
    departments = json.loads((out / "aggregates.json").read_text(encoding="utf-8"))["internal"]["departments"]
    it = next(department for department in departments if department["about"] == "IT部")
    assert it["n"] == 24 and it["sentiment"]["negative"]["share"] == 0.5
    low, high = wilson(12, 24)
    assert (it["sentiment"]["negative"]["low"], it["sentiment"]["negative"]["high"]) == (low, high)
    change = it["latest_change"]  # Q1 2/12 negative, Q2 10/12: the calibrated share rises far beyond noise
    assert change["flag"] == "▲" and change["low"] > 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "内部客户地图 Internal-customer map" in html and "内部客户满意度" in html and "<svg" in html


def test_a_file_without_causes_or_about_reports_as_before(tmp_path: Path) -> None:
    rows = [scored(i, "A" if i % 2 else "B", "", "流程") for i in range(30)]
    out = tmp_path / "report"
    build_report(write_csv(tmp_path / "old.csv", rows), out, ReportOptions(group_col="department"))
    numbers = json.loads((out / "aggregates.json").read_text(encoding="utf-8"))
    assert "causes" not in numbers and "internal" not in numbers and "expected" in numbers
    assert not (out / "causes.csv").exists() and not (out / "pairs.csv").exists()


def test_expected_share_interval_is_the_normal_interval_of_the_mean() -> None:
    tally = Tally()
    values = [0.1, 0.2, 0.9, 0.8, 0.5]
    for value in values:
        tally.record(Scored((), 0, False, (), (value, None, None, None, *([None] * len(CAUSES)))))
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    found = tally.expected("subjective")
    assert math.isclose(found["share"], round(mean, 4))
    assert math.isclose(found["high"], round(min(mean + 1.959963984540054 * sd / math.sqrt(5), 1), 4))
    assert tally.expected("objective") == {"share": None, "low": None, "high": None}


def test_two_surveys_as_files_mark_the_change_against_the_previous(tmp_path: Path) -> None:
    """Each file is one survey, in the order given (not sorted by name): the department view compares the second
    with the first, exactly as when the same rows carry a wave column."""
    rows = survey()
    earlier = write_csv(tmp_path / "b-2025H2.csv", [row for row in rows if row["wave"] == "Q1"])
    later = write_jsonl(tmp_path / "a-2026H1.jsonl", [row for row in rows if row["wave"] == "Q2"])
    as_files = build_report([earlier, later], tmp_path / "files", ReportOptions(group_col="department"))
    numbers = json.loads((tmp_path / "files" / "aggregates.json").read_text(encoding="utf-8"))
    assert [wave["wave"] for wave in numbers["waves"]] == ["b-2025H2", "a-2026H1"] and as_files.waves_shown == 2
    it = next(department for department in numbers["internal"]["departments"] if department["about"] == "IT部")
    in_one = json.loads(
        (
            build_report(write_csv(tmp_path / "one.csv", rows), tmp_path / "one", OPTIONS).out_dir / "aggregates.json"
        ).read_text(encoding="utf-8")
    )
    it_one = next(department for department in in_one["internal"]["departments"] if department["about"] == "IT部")
    assert it["latest_change"] == it_one["latest_change"] and it["latest_change"]["flag"] == "▲"


def test_report_command_takes_previous(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from feedbackml.cli import app

    rows = survey()
    earlier = write_csv(tmp_path / "2025H2.csv", [row for row in rows if row["wave"] == "Q1"])
    later = write_csv(tmp_path / "2026H1.csv", [row for row in rows if row["wave"] == "Q2"])
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["report", str(later), "--previous", str(earlier), "--out", str(out), "--group-col", "department"]
    )
    assert result.exit_code == 0, result.output
    assert "waves: 2 shown, 0 suppressed" in result.output
    waves = json.loads((out / "aggregates.json").read_text(encoding="utf-8"))["waves"]
    assert [wave["wave"] for wave in waves] == ["2025H2", "2026H1"]
    same = CliRunner().invoke(app, ["report", str(later), str(later), "--out", str(tmp_path / "x")])
    assert same.exit_code == 1 and "has the same name as another scored file" in same.output


def test_aggregates_workbook_holds_every_table_with_named_sheets(survey_file: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "report"
    build_report(survey_file, out, OPTIONS)
    workbook = load_workbook(out / "aggregates.xlsx", read_only=True)
    assert "部门对 pairs" in workbook.sheetnames and "原因 causes" in workbook.sheetnames
    sheet = [list(row) for row in workbook["部门对 pairs"].iter_rows(values_only=True)]
    pairs = read_csv(out / "pairs.csv")
    assert sheet[0] == list(pairs[0]) and len(sheet) == len(pairs) + 1
    assert [str(value) for value in sheet[1][:3]] == [pairs[0]["from"], pairs[0]["about"], pairs[0]["n"]]
    workbook.close()


def test_no_quote_or_word_names_a_department_too_small_to_show(tmp_path: Path) -> None:
    """法务部 has 3 writers: hidden. 销售部's comments about it are counted but never quoted, nor is its name
    listed as an evidence word; the control comment naming a shown department is quoted."""
    rows = [row(i, "法务部", "", f"合同审核{i}") for i in range(3)]
    rows += [
        row(10 + i, "销售部", "", f"法务部审合同拖了一个月{i}", about="法务部", words=("法务部",), causes=("process",))
        for i in range(12)
    ]
    rows += [row(30 + i, "生产部", "", f"采购部流程太长{i}", about="采购部", causes=("process",)) for i in range(20)]
    rows += [row(60 + i, "财务部", "", f"还行{i}", barriers=()) for i in range(12)]  # hidden against subtraction
    out = tmp_path / "report"
    build_report(write_csv(tmp_path / "s.csv", rows), out, ReportOptions(group_col="department", min_group_size=10))
    for name, content in output_bytes(out).items():
        assert "法务部".encode() not in content, name
    assert "采购部流程太长" in (out / "report.html").read_text(encoding="utf-8")


def test_words_behind_each_cause_and_the_comments_behind_a_word(tmp_path: Path) -> None:
    rows = []
    for i in range(14):
        text = f"采购审批要签五个字{i}"
        record = row(i, "生产部", "", text, about="采购部", causes=("process",))
        start = text.index("审批")
        record["evidence"] = json.dumps(
            [{"word": "审批", "start": start, "end": start + 2, "label": "process", "weight": 0.3}], ensure_ascii=False
        )
        rows.append(record)
    rows += [row(20 + i, "销售部", "", f"还可以{i}", barriers=(), sentiment="positive") for i in range(12)]
    out = tmp_path / "report"
    build_report(write_csv(tmp_path / "s.csv", rows), out, ReportOptions(group_col="department"))
    numbers = json.loads((out / "aggregates.json").read_text(encoding="utf-8"))
    assert numbers["cause_words"]["process"] == [{"word": "审批", "comments": 14}]
    assert "word_comments" not in numbers  # comment text stays on the page
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<details class="word"><summary>审批 <small>14</small>' in html and "采购审批要签五个字" in html
    words = read_csv(out / "evidence_words.csv")
    assert {"scope": "cause", "cause": "process", "barrier": "objective", "word": "审批"}.items() <= next(
        w for w in words if w["scope"] == "cause"
    ).items()


def test_no_comment_text_in_the_json_csv_or_workbook(survey_file: Path, tmp_path: Path) -> None:
    """Quotes live on the page only: a key of the view holding text and not listed in TEXT_KEYS would leak here."""
    out = tmp_path / "report"
    build_report(survey_file, out, OPTIONS)
    texts = {record["text"] for record in survey()}
    files = output_bytes(out)
    assert any(text.encode() in files["report.html"] for text in texts)  # the control: the page quotes some
    for name, content in files.items():
        if name != "report.html":
            assert not [text for text in texts if text.encode() in content], name


def test_a_department_row_drills_down_to_its_own_comments(survey_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    build_report(survey_file, out, OPTIONS)
    html = (out / "report.html").read_text(encoding="utf-8")
    row_html = html.split('<tr data-f data-group="生产部">', 1)[1].split("</tr>", 1)[0]
    quotes = re.findall(r"<blockquote>(.*?)<small>", row_html)
    assert quotes and all(quote.startswith(("采购审批太慢", "流程有点乱")) for quote in quotes)  # 生产部's own
    # 销售部's cells are all hidden in the department x wave table (财务部's small Q2 cell costs them), so its row
    # quotes nothing: a drill-down only ever shows comments of shown cells
    sales = html.split('<tr data-f data-group="销售部">', 1)[1].split("</tr>", 1)[0]
    assert "<blockquote>" not in sales
