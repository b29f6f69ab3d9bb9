"""The HR report: streaming aggregates, privacy (small groups and cells nowhere, no derivation by subtraction),
wave order and change markers, errors that name file and column, atomic output, an HTML page with no network."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from feedbackml.io import InputError
from feedbackml.labels import BARRIERS
from feedbackml.report import ReportOptions, build_report
from feedbackml.report.privacy import suppress_pairs, suppress_partition, suppress_table
from feedbackml.report.view import two_proportion_test, wave_order

COLUMNS = [
    "id",
    "text",
    "department",
    "wave",
    "status",
    "barriers",
    "p_subjective",
    "p_objective",
    "p_role_misalignment",
    "sentiment",
    "p_negative",
    "p_neutral",
    "p_positive",
    "needs_review",
    "evidence",
    "model_version",
]
SMALL_GROUP = "法务小组"  # 4 people: must appear nowhere
SMALL_WORD = "蜂鸟计划"  # only the small group writes it
OPTIONS = ReportOptions(group_col="department", wave_col="wave", min_group_size=10)


def scored(
    number: int,
    group: str,
    wave: str,
    text: str,
    *,
    barriers: tuple[str, ...] = ("objective",),
    sentiment: str = "neutral",
    p: float = 0.8,
    words: tuple[str, ...] = (),
    status: str = "ok",
) -> dict[str, Any]:
    """One row as 'feedbackml score' writes it (typed, as in JSONL)."""
    if status != "ok":
        return {
            **dict.fromkeys(COLUMNS),
            "id": f"r{number}",
            "text": text,
            "department": group,
            "wave": wave,
            "status": status,
            "barriers": "",
            "sentiment": "",
            "needs_review": False,
            "evidence": "[]",
            "model_version": "m1",
        }
    evidence = [
        {
            "word": word,
            "start": text.index(word),
            "end": text.index(word) + len(word),
            "label": barriers[0],
            "weight": 0.2,
        }
        for word in words
    ]
    return {
        "id": f"r{number}",
        "text": text,
        "department": group,
        "wave": wave,
        "status": "ok",
        "barriers": "|".join(barriers),
        **{f"p_{label}": (p if label in barriers else 0.1) for label in BARRIERS},
        "sentiment": sentiment,
        "p_negative": 0.6 if sentiment == "negative" else 0.2,
        "p_neutral": 0.6 if sentiment == "neutral" else 0.2,
        "p_positive": 0.6 if sentiment == "positive" else 0.2,
        "needs_review": number % 7 == 0,
        "evidence": json.dumps(evidence, ensure_ascii=False),
        "model_version": "m1",
    }


def survey() -> list[dict[str, Any]]:
    """Four departments in two waves (listed Q2 first): 销售一部 32 rows, 质量二部 20, 仓储三部 12, 法务小组 4."""
    rows: list[dict[str, Any]] = []
    for wave, negatives in (("2025Q2", 13), ("2025Q1", 3)):
        for i in range(15):
            sentiment = "negative" if i < negatives else "positive"
            rows.append(
                scored(len(rows), "销售一部", wave, f"报销流程太复杂,第{i}次提交", sentiment=sentiment, words=("流程",))
            )
        for i in range(10):
            rows.append(
                scored(
                    len(rows), "质量二部", wave, f"对方推诿扯皮,问了{i}遍", barriers=("subjective",), words=("推诿",)
                )
            )
        for i in range(6):
            rows.append(
                scored(
                    len(rows),
                    "仓储三部",
                    wave,
                    f"主管越级安排{i}号线",
                    barriers=("role_misalignment",),
                    words=("越级",),
                )
            )
        for i in range(2):
            text = f"{SMALL_WORD}的审批拖了{i + 3}个月"
            rows.append(scored(len(rows), SMALL_GROUP, wave, text, sentiment="negative", p=0.99, words=(SMALL_WORD,)))
    rows.append(scored(len(rows), "销售一部", "2025Q1", "", status="empty"))
    rows.append(scored(len(rows), "销售一部", "2025Q1", "x" * 5000, status="error: text too long"))
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _flat(value) for key, value in row.items()})
    return path


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def output_bytes(folder: Path) -> dict[str, bytes]:
    """Every output file's bytes; a workbook's as the bytes of its (unzipped) parts, so a grep sees its text."""
    import zipfile

    found = {}
    for path in folder.iterdir():
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as workbook:
                found[path.name] = b"".join(workbook.read(name) for name in workbook.namelist())
        else:
            found[path.name] = path.read_bytes()
    return found


# --- privacy rules as pure functions ----------------------------------------------------------------------


def test_partition_hides_small_groups_and_the_next_smallest_against_subtraction() -> None:
    sizes = {"a": 40, "b": 25, "c": 12, "d": 4}
    assert suppress_partition(sizes, 10) == {"d", "c"}  # 4 alone could be derived: 12 joins it
    assert suppress_partition({"a": 40, "b": 25, "c": 6, "d": 4}, 10) == {"c", "d"}  # together 10: enough
    assert suppress_partition({"a": 40, "b": 25}, 10) == set()


def test_cells_complementary_suppression_in_rows_and_columns() -> None:
    cells = {("A", "w1"): 20, ("A", "w2"): 3, ("B", "w1"): 15, ("B", "w2"): 25, ("C", "w1"): 30, ("C", "w2"): 30}
    # A-w2 is small; row A then loses A-w1 and column w2 its smallest other cell, B-w2. That alone leaked:
    # A-w1 was the only hidden cell of column w1 (65 - 15 - 30 = 20), so A-w2 = 23 - 20 = 3. Hiding B-w1 as
    # well closes a rectangle: four unknowns with only three independent sums.
    rows, columns, hidden = suppress_table(cells, 10)
    assert not rows and not columns and hidden == {("A", "w2"), ("A", "w1"), ("B", "w2"), ("B", "w1")}
    assert not _exactly_derivable(cells, hidden, [set("ABC") - rows, {"w1", "w2"} - columns], 10)


Cells = dict[tuple[str, str], int]


def _exactly_derivable(cells: Cells, hidden: set[tuple[str, str]], shown: list[set[str]], k: int) -> list[Any]:
    """Hidden cells below k that the shown cells, shown line totals and grand total pin down: written apart from
    the library's null-space check, as a rank test (a cell is pinned iff adding its unit vector to the equations
    does not raise their rank)."""
    import numpy as np

    unknown = sorted(cell for cell in hidden if cells[cell] > 0)
    rows = [[1.0] * len(unknown)]  # the grand total
    for axis, names in enumerate(shown):
        for name in names:
            rows.append([1.0 if cell[axis] == name else 0.0 for cell in unknown])
    matrix = np.array(rows)
    rank = np.linalg.matrix_rank(matrix)
    pinned = []
    for index, cell in enumerate(unknown):
        unit = np.zeros(len(unknown))
        unit[index] = 1.0
        if cells[cell] < k and np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            pinned.append(cell)
    return pinned


def _line_sums_ok(cells: Cells, hidden: set[tuple[str, str]], shown: set[str], axis: int, k: int) -> bool:
    for name in shown:
        hidden_sum = sum(n for cell, n in cells.items() if cell[axis] == name and cell in hidden)
        if 0 < hidden_sum < k:
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.sampled_from("ABCDE"), st.sampled_from(["w1", "w2", "w3", "w4"])),
        st.integers(min_value=1, max_value=40),
        min_size=1,
    ),
    st.integers(min_value=2, max_value=15),
)
def test_no_hidden_line_total_below_k(cells: dict[tuple[str, str], int], k: int) -> None:
    assume(sum(cells.values()) >= k)  # below k nothing is reported at all
    groups: dict[str, int] = {}
    waves: dict[str, int] = {}
    for (group, wave), n in cells.items():
        groups[group] = groups.get(group, 0) + n
        waves[wave] = waves.get(wave, 0) + n
    hidden_groups, hidden_waves, hidden = suppress_table(cells, k)
    for sizes, hidden_names in ((groups, hidden_groups), (waves, hidden_waves)):
        assert all(name in hidden_names for name, n in sizes.items() if n < k)
        hidden_total = sum(sizes[name] for name in hidden_names)
        assert hidden_total == 0 or hidden_total >= k or hidden_names == set(sizes)
    assert all(cell in hidden for cell, n in cells.items() if n < k)
    assert all(cell in hidden for cell in cells if cell[0] in hidden_groups or cell[1] in hidden_waves)
    assert _line_sums_ok(cells, hidden, set(groups) - hidden_groups, 0, k)
    assert _line_sums_ok(cells, hidden, set(waves) - hidden_waves, 1, k)
    assert not _exactly_derivable(cells, hidden, [set(groups) - hidden_groups, set(waves) - hidden_waves], k)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.sampled_from("ABCDEF"), st.sampled_from("ABCDEFG")).filter(lambda pair: pair[0] != pair[1]),
        st.integers(min_value=1, max_value=30),
        min_size=1,
    ),
    st.sets(st.sampled_from("ABCDEF"), max_size=2),
    st.integers(min_value=2, max_value=12),
)
def test_no_hidden_pair_of_the_internal_customer_map_can_be_derived(
    pairs: Cells, hidden_groups: set[str], k: int
) -> None:
    """Writers' groups (rows) x departments written about (columns): what the report shows is the shown cells,
    the shown rows' and columns' totals and the map's total; no hidden cell below k follows from them."""
    assume(sum(pairs.values()) >= k)  # below k the map is not shown at all
    rows_hidden, columns_hidden, hidden = suppress_pairs(pairs, hidden_groups, k)
    rows = {writer for writer, _ in pairs}
    columns = {about for _, about in pairs}
    assert rows_hidden >= rows & hidden_groups and columns_hidden >= columns & hidden_groups
    for names, hidden_names, axis in ((rows, rows_hidden, 0), (columns, columns_hidden, 1)):
        totals = {name: sum(n for cell, n in pairs.items() if cell[axis] == name) for name in names}
        assert all(name in hidden_names for name, n in totals.items() if n < k)
        hidden_total = sum(totals[name] for name in hidden_names)
        assert hidden_total == 0 or hidden_total >= k or hidden_names == names
    assert all(cell in hidden for cell, n in pairs.items() if n < k)
    assert all(cell in hidden for cell in pairs if cell[0] in rows_hidden or cell[1] in columns_hidden)
    assert _line_sums_ok(pairs, hidden, rows - rows_hidden, 0, k)
    assert _line_sums_ok(pairs, hidden, columns - columns_hidden, 1, k)
    assert not _exactly_derivable(pairs, hidden, [rows - rows_hidden, columns - columns_hidden], k)


def test_wave_order_dates_then_natural_then_blank() -> None:
    names = ["2025Q10", "(blank)", "2025Q2", "2025-03-01", "2024-12-31", "2025-H2", "2025-H1"]
    assert sorted(names, key=wave_order) == [
        "2024-12-31",
        "2025-03-01",
        "2025-H1",
        "2025-H2",
        "2025Q2",
        "2025Q10",
        "(blank)",
    ]


def test_two_proportion_test_known_value() -> None:
    # 10/100 vs 20/100: z = 0.1 / sqrt(0.15 * 0.85 * 0.02) = 1.9803, two-sided p = 0.0477
    assert two_proportion_test(10, 100, 20, 100) == pytest.approx(0.04767, abs=1e-4)
    assert two_proportion_test(0, 50, 0, 60) is None
    assert two_proportion_test(3, 0, 2, 10) is None


# --- the report end to end ----------------------------------------------------------------------------------


@pytest.fixture(params=["csv", "jsonl"])
def survey_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    writer = write_csv if request.param == "csv" else write_jsonl
    return writer(tmp_path / f"scored.{request.param}", survey())


def test_small_group_appears_in_no_output_file(survey_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    summary = build_report(survey_file, out, OPTIONS)
    assert summary.groups_suppressed == 2  # the 4, and the next smallest (12) so 4 cannot be subtracted out
    files = output_bytes(out)
    assert {"report.html", "aggregates.json", "groups.csv", "group_waves.csv", "evidence_words.csv"} <= set(files)
    for name, content in files.items():
        for secret in (SMALL_GROUP, SMALL_WORD, "越级"):
            assert secret.encode() not in content, (name, secret)
            assert json.dumps(secret).strip('"').encode() not in content, (name, secret)
    # 仓储三部 (12 rows, at least k) is hidden only so that 法务小组 cannot be subtracted out: it is named as
    # hidden, once on the page and in the JSON's list of such groups, and nothing of it is shown.
    numbers = json.loads(files["aggregates.json"])
    assert numbers["suppressed_groups_complementary"] == ["仓储三部"] and numbers["suppressed_groups_small"] == 1
    numbers.pop("suppressed_groups_complementary")
    assert "仓储三部" not in json.dumps(numbers, ensure_ascii=False)
    assert files["report.html"].decode().count("仓储三部") == 1
    assert all("仓储三部".encode() not in content for name, content in files.items() if name.endswith(".csv"))


def test_small_group_is_visible_with_a_lower_threshold(survey_file: Path, tmp_path: Path) -> None:
    """The control for the test above: with k=2 (its cells hold 2) the group, its word and comments show."""
    out = tmp_path / "report"
    build_report(survey_file, out, ReportOptions(group_col="department", wave_col="wave", min_group_size=2))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert SMALL_GROUP in html and SMALL_WORD in html
    assert SMALL_GROUP in (out / "groups.csv").read_text(encoding="utf-8-sig")


def test_overall_totals_and_visible_groups(survey_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    build_report(survey_file, out, OPTIONS)
    numbers = json.loads((out / "aggregates.json").read_text(encoding="utf-8"))
    overall = numbers["overall"]
    assert (overall["n"], overall["ok"], overall["empty"], overall["error"]) == (68, 66, 1, 1)
    assert overall["sentiment"]["negative"]["n"] == 13 + 3 + 4
    assert [group["group"] for group in numbers["groups"]] == ["销售一部", "质量二部"]
    sales = numbers["groups"][0]
    assert (sales["n"], sales["ok"], sales["barriers"]["objective"]["n"]) == (32, 30, 30)
    assert sales["sentiment"]["negative"]["share"] == round(16 / 30, 4)
    rows = {row["group"]: row for row in read_csv(out / "groups.csv")}
    assert rows[""]["n"] == "68" and rows["销售一部"]["n_negative"] == "16"
    assert rows["销售一部"]["share_negative"] == str(round(16 / 30, 4))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "53.3% <small>n=16</small>" in html  # the same figure in the page
    assert "Suppressed groups: 2（1 个少于 10 条评论" in html


def test_group_wave_cells_complementary(survey_file: Path, tmp_path: Path) -> None:
    """Per wave the hidden groups hold 6 + 2 = 8 < 10, so the smallest shown cell of each wave (质量二部, 10)
    is hidden too; 销售一部 stays."""
    out = tmp_path / "report"
    summary = build_report(survey_file, out, OPTIONS)
    cells = {(row["group"], row["wave"]): row for row in read_csv(out / "group_waves.csv")}
    assert set(cells) == {(group, wave) for group in ("销售一部", "质量二部") for wave in ("2025Q1", "2025Q2")}
    assert cells[("质量二部", "2025Q1")]["suppressed"] == "True" and cells[("质量二部", "2025Q1")]["n"] == ""
    assert cells[("质量二部", "2025Q2")]["suppressed"] == "True"
    assert cells[("销售一部", "2025Q2")]["suppressed"] == "False" and cells[("销售一部", "2025Q2")]["n"] == "15"
    assert summary.cells_suppressed == 2
    words = read_csv(out / "evidence_words.csv")
    assert {(row["group"], row["word"]) for row in words} == {("", "流程"), ("销售一部", "流程")}  # 推诿: hidden cells


def test_waves_in_natural_order_with_change_marker(survey_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    build_report(survey_file, out, OPTIONS)
    waves = read_csv(out / "waves.csv")
    assert [row["wave"] for row in waves] == ["2025Q1", "2025Q2"]  # the file lists Q2 first
    # negative 5/33 -> 15/33 counted; the change is tested on the calibrated share (mean p_negative per wave, the
    # normal test of two independent means), computed here apart from the library; subjective: no change
    import statistics

    def side(wave: str) -> tuple[float, float]:
        values = [r["p_negative"] for r in survey() if r["wave"] == wave and r["status"] == "ok"]
        return statistics.mean(values), statistics.variance(values) / len(values)

    (m1, v1), (m2, v2) = side("2025Q1"), side("2025Q2")
    expected_p = math.erfc(abs(m2 - m1) / math.sqrt(v1 + v2) / math.sqrt(2))
    assert waves[1]["flag_negative"] == "▲" and float(waves[1]["p_negative"]) == pytest.approx(expected_p, abs=1e-4)
    assert float(waves[1]["change_negative"]) == pytest.approx(m2 - m1, abs=1e-4)
    assert waves[1]["flag_subjective"] == "" and float(waves[1]["p_subjective"]) == 1.0
    assert waves[0]["flag_negative"] == "" and waves[0]["p_negative"] == ""
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "calibrated" in html and 'class="up"' in html


def test_small_wave_hidden_with_its_complement(tmp_path: Path) -> None:
    """A wave of 3 (say, the exit interviews of one day) would be revealed by overall minus the other waves."""
    rows = [scored(i, "销售一部" if i % 2 else "质量二部", "2025Q1", f"流程{i}", words=("流程",)) for i in range(30)]
    rows += [scored(100 + i, "销售一部" if i % 2 else "质量二部", "2025Q2", f"流程{i}") for i in range(25)]
    rows += [
        scored(200 + i, "销售一部", "2025-06-12", f"离职面谈提到{SMALL_WORD}", words=(SMALL_WORD,)) for i in range(3)
    ]
    out = tmp_path / "out"
    summary = build_report(write_csv(tmp_path / "s.csv", rows), out, OPTIONS)
    assert (summary.waves_shown, summary.waves_suppressed) == (1, 2)
    assert [row["wave"] for row in read_csv(out / "waves.csv")] == ["2025Q1"]
    assert {row["wave"] for row in read_csv(out / "group_waves.csv")} == {"2025Q1"}
    for name, content in output_bytes(out).items():
        assert b"2025-06-12" not in content and SMALL_WORD.encode() not in content, name
    assert "Suppressed waves (2 waves)" in (out / "report.html").read_text(encoding="utf-8")


def _distinct(i: int) -> str:
    """Twenty characters no other row shares, so the quotes are not near-duplicates of each other."""
    return "".join(chr(0x4E00 + 400 * i + k) for k in range(20))


def test_samples_are_redacted_shortened_and_from_visible_groups(tmp_path: Path) -> None:
    rows = [
        scored(
            i,
            "销售一部",
            "2025Q1",
            f"审批流程太慢{i},有事打13812345678或找 @王经理 " + _distinct(i) + "很长" * 200,
            p=0.5 + i / 100,
        )
        for i in range(12)
    ]
    rows += [scored(100 + i, "小组", "2025Q1", f"小组的审批{i}", p=0.99) for i in range(3)]
    rows += [scored(200 + i, "质量二部", "2025Q1", f"对方推诿{i}", barriers=("subjective",)) for i in range(8)]
    out = tmp_path / "report"
    build_report(write_csv(tmp_path / "s.csv", rows), out, ReportOptions(group_col="department", sample_chars=60))
    html = (out / "report.html").read_text(encoding="utf-8")
    quotes = re.findall(r"<blockquote[^>]*>(.*?)<small>", html.split('id="samples"')[1].split('id="review"')[0])
    objective = [quote for quote in quotes if "审批流程太慢" in quote]
    assert len(objective) == 5 and all(len(quote) <= 60 for quote in objective)
    assert "审批流程太慢11" in objective[0]  # the most probable first
    assert "[手机号]" in objective[0] and "13812345678" not in html and "王经理" not in html
    assert "小组的审批" not in html  # 3 rows: suppressed, though the most probable
    for content in output_bytes(out).values():
        assert b"13812345678" not in content


def test_blank_group_is_a_group_under_the_same_rule(tmp_path: Path) -> None:
    rows = [scored(i, "销售一部", "", f"流程太慢{i}") for i in range(12)]
    rows += [scored(20 + i, "质量二部", "", f"推诿{i}") for i in range(11)]
    small = [scored(40 + i, "  ", "", f"流程{i}") for i in range(4)]
    out = tmp_path / "small"
    build_report(write_csv(tmp_path / "a.csv", rows + small), out, ReportOptions(group_col="department"))
    assert [row["group"] for row in read_csv(out / "groups.csv")] == ["", "销售一部"]  # blank 4 + 质量二部 11
    big = [scored(40 + i, "", "", f"流程{i}") for i in range(10)]
    out = tmp_path / "big"
    build_report(write_csv(tmp_path / "b.csv", rows + big), out, ReportOptions(group_col="department"))
    assert [row["group"] for row in read_csv(out / "groups.csv")] == ["", "销售一部", "质量二部", "(blank)"]


def test_typed_jsonl_and_parquet_give_the_csv_numbers(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = survey()
    typed = [
        {**row, **{key: float(row[key]) for key in row if key.startswith("p_") and row[key] is not None}}
        for row in rows
    ]
    typed[0]["evidence"] = json.loads(typed[0]["evidence"])  # a list, as a JSON writer may keep it
    results = []
    for name, write in (
        ("s.csv", lambda path: write_csv(path, rows)),
        ("s.jsonl", lambda path: write_jsonl(path, typed)),
        ("s.parquet", lambda path: pq.write_table(pa.Table.from_pylist(typed[1:]), path)),
    ):
        out = tmp_path / name.replace(".", "_")
        write(tmp_path / name)
        build_report(tmp_path / name, out, OPTIONS)
        numbers = json.loads((out / "aggregates.json").read_text(encoding="utf-8"))
        numbers.pop("source")
        results.append(numbers)
    assert results[0] == results[1]
    assert results[2]["overall"]["n"] == results[0]["overall"]["n"] - 1


def test_html_is_self_contained(tmp_path: Path) -> None:
    out = tmp_path / "report"
    rows = survey()
    rows += [scored(500 + i, "<img src=x onerror=alert(1)>", "2025Q1", f"<script>流程{i}</script>") for i in range(15)]
    build_report(write_csv(tmp_path / "x.csv", rows), out, OPTIONS)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert "http://" not in html and "https://" not in html and "@import" not in html
    assert html.count("<script") == 1 and "<script>\n" in html and "<img" not in html  # ours, inline, no src
    assert "&lt;script&gt;流程" in html and "default-src 'none'" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count("<svg") >= 4


# --- errors and atomic output --------------------------------------------------------------------------------


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    rows = [{key: value for key, value in row.items() if key != "evidence"} for row in survey()]
    path = write_csv(tmp_path / "s.csv", rows)
    with pytest.raises(InputError, match=r"s\.csv: has no column 'evidence'"):
        build_report(path, tmp_path / "out", OPTIONS)
    path = write_csv(tmp_path / "t.csv", survey())
    with pytest.raises(InputError, match=r"t\.csv: has no column 'dept'"):
        build_report(path, tmp_path / "out", ReportOptions(group_col="dept"))
    rows = survey()
    del rows[2]["department"]
    path = write_jsonl(tmp_path / "s.jsonl", rows)
    with pytest.raises(InputError, match=rf"{re.escape(str(path))}:3: has no column 'department'"):
        build_report(path, tmp_path / "out", OPTIONS)
    assert not (tmp_path / "out").exists()


def test_unreadable_input_rows_that_score_kept_count_as_blank(tmp_path: Path) -> None:
    """score writes a row it could not read as 'error: …' without its input fields; it counts in "(blank)"."""
    rows = [scored(i, "销售一部", "2025Q1", f"流程{i}") for i in range(12)]
    rows += [{"status": "error: row 14 is not valid JSON", "model_version": "m1"}] * 10
    out = tmp_path / "out"
    build_report(write_jsonl(tmp_path / "s.jsonl", rows), out, OPTIONS)
    groups = {row["group"]: row for row in read_csv(out / "groups.csv")}
    assert (groups["(blank)"]["n"], groups["(blank)"]["error"], groups[""]["n"]) == ("10", "10", "22")
    rows.append({"model_version": "m1"})
    with pytest.raises(InputError, match=r"s\.jsonl:23: has no column 'status'"):
        build_report(write_jsonl(tmp_path / "s.jsonl", rows), tmp_path / "other", OPTIONS)


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("p_objective", "high", r"column 'p_objective' holds 'high' \(expected a probability from 0 to 1\)"),
        ("p_objective", "1.5", r"column 'p_objective' holds '1.5'"),
        ("barriers", "blame", r"column 'barriers' holds 'blame' \(expected labels from subjective"),
        ("status", "done", r"column 'status' holds 'done' \(expected ok, empty or 'error: …'\)"),
        ("evidence", "[{", r"column 'evidence' is not valid"),
        ("needs_review", "maybe", r"column 'needs_review' holds 'maybe' \(expected true or false\)"),
    ],
)
def test_bad_value_names_line_and_column(tmp_path: Path, column: str, value: str, expected: str) -> None:
    rows = survey()
    rows[4] = {**rows[4], column: value}
    path = write_csv(tmp_path / "s.csv", rows)
    with pytest.raises(InputError, match=rf"s\.csv:6: {expected}") as caught:
        build_report(path, tmp_path / "out", OPTIONS)
    assert rows[4]["text"] not in str(caught.value)


def test_failure_leaves_no_half_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = survey()
    rows[-3] = {**rows[-3], "p_objective": "nan"}  # found only at the end of the pass
    with pytest.raises(InputError):
        build_report(write_csv(tmp_path / "s.csv", rows), tmp_path / "out", OPTIONS)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["s.csv"]

    good = write_csv(tmp_path / "good.csv", survey())
    build_report(good, tmp_path / "out", OPTIONS)
    before = output_bytes(tmp_path / "out")

    def broken(view: dict[str, Any], folder: Path) -> list[str]:
        (folder / "groups.csv").write_text("half", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr("feedbackml.report.write_csvs", broken)
    with pytest.raises(OSError, match="disk full"):
        build_report(good, tmp_path / "out", OPTIONS, overwrite=True)
    assert output_bytes(tmp_path / "out") == before  # the old report is untouched
    assert sorted(path.name for path in tmp_path.iterdir()) == ["good.csv", "out", "s.csv"]


def test_refuses_to_overwrite_without_force_and_never_the_input(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", survey())
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ValueError, match="exists and is not empty"):
        build_report(path, out, OPTIONS)
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"
    build_report(path, out, OPTIONS, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "report.html").is_file()
    with pytest.raises(ValueError, match="holds the scored file"):
        build_report(path, tmp_path, OPTIONS, overwrite=True)
    assert path.is_file()


def test_too_few_rows_for_any_report(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [scored(i, "A", "", "流程") for i in range(9)])
    with pytest.raises(ValueError, match=r"has 9 rows \(expected at least the minimum group size 10"):
        build_report(path, tmp_path / "out", ReportOptions())


def test_without_group_and_wave_columns(tmp_path: Path) -> None:
    out = tmp_path / "report"
    summary = build_report(write_csv(tmp_path / "s.csv", survey()), out, ReportOptions())
    assert (summary.rows, summary.groups_shown) == (68, 0)
    assert sorted(path.name for path in out.iterdir()) == [
        "aggregates.json",
        "aggregates.xlsx",
        "barrier_sentiment.csv",
        "evidence_words.csv",
        "groups.csv",
        "report.html",
    ]
    numbers = json.loads((out / "aggregates.json").read_text(encoding="utf-8"))
    assert "groups" not in numbers and "waves" not in numbers
    assert math.isclose(numbers["overall"]["barriers"]["objective"]["share"], round(34 / 66, 4))


def test_function_words_are_not_listed_as_evidence() -> None:
    from collections import Counter

    from feedbackml.report.view import _top_words

    counter = Counter({"不": 40, "的": 30, "推诿": 12, "流程": 9, "13912345678": 8, "，": 7})
    assert [item["word"] for item in _top_words(counter, limit=5, minimum=3)] == ["推诿", "流程"]


def test_date_waves_are_days(tmp_path: Path) -> None:
    """Waves kept as Excel dates (or their text with a midnight time) are shown as days, in time order."""
    import datetime as dt

    import openpyxl

    rows = [scored(i, "A", "", f"流程{i}") for i in range(24)]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(COLUMNS)
    for index, row in enumerate(rows):
        row["wave"] = dt.datetime(2024, 12, 31) if index % 2 else dt.datetime(2024, 6, 30)
        sheet.append([row[column] for column in COLUMNS])
    book.save(tmp_path / "scored.xlsx")
    out = tmp_path / "report"
    build_report(tmp_path / "scored.xlsx", out, ReportOptions(wave_col="wave"))
    waves = [row["wave"] for row in json.loads((out / "aggregates.json").read_text(encoding="utf-8"))["waves"]]
    assert waves == ["2024-06-30", "2024-12-31"]
    as_text = [{**row, "wave": "2024-12-31 00:00:00" if i % 2 else "2024-06-30T00:00:00"} for i, row in enumerate(rows)]
    build_report(write_csv(tmp_path / "s.csv", as_text), tmp_path / "r2", ReportOptions(wave_col="wave"))
    again = json.loads((tmp_path / "r2" / "aggregates.json").read_text(encoding="utf-8"))["waves"]
    assert [row["wave"] for row in again] == ["2024-06-30", "2024-12-31"]
