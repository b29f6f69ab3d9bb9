"""From aggregates and suppression decisions to the one ``view`` dict that the HTML, the JSON and the CSVs
are all rendered from, so they show the same numbers and nothing a hidden group or cell contributed alone."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

from feedbackml.labels import BARRIER_OF_CAUSE, BARRIERS, CAUSES, SENTIMENTS
from feedbackml.report.aggregate import BLANK, Aggregates, Cell, Tally, total
from feedbackml.report.internal import cause_view, csv_tables, internal_map
from feedbackml.report.samples import group_quotes, label_quotes, quote
from feedbackml.report.tables import write_tables
from feedbackml.report.tally import mean_difference
from feedbackml.text import redact

CHANGE_ALPHA = 0.05
# redacted comment text: the page only, never the JSON
TEXT_KEYS = frozenset({"samples", "cause_samples", "review_samples", "pair_samples", "word_comments", "group_samples"})
METRICS: tuple[str, ...] = (*BARRIERS, "negative")  # the shares the trend follows
_NATURAL = re.compile(r"(\d+)")


def share(count: int, of: int) -> float | None:
    """A share rounded as every output shows it (4 decimals); None when there is nothing to divide by."""
    return round(count / of, 4) if of else None


def distribution(tally: Tally) -> dict[str, Any]:
    """Counts and shares of one tally: statuses over all rows, labels over scored (ok) rows."""
    ok = tally.ok
    return {
        "n": tally.n,
        "ok": ok,
        "empty": tally.empty,
        "error": tally.error,
        "needs_review": {"n": tally.needs_review, "share": share(tally.needs_review, ok)},
        "barriers": {
            label: {"n": tally.barriers[i], "share": share(tally.barriers[i], ok)} for i, label in enumerate(BARRIERS)
        },
        "no_barrier": {"n": tally.no_barrier, "share": share(tally.no_barrier, ok)},
        "sentiment": {
            label: {"n": tally.sentiment[i], "share": share(tally.sentiment[i], ok)}
            for i, label in enumerate(SENTIMENTS)
        },
    }


def metric_count(tally: Tally, metric: str) -> int:
    if metric == "negative":
        return tally.sentiment[SENTIMENTS.index("negative")]
    return tally.barriers[BARRIERS.index(metric)]


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test; None when it is undefined (an empty side, or
    both shares 0 or both 1)."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    z = (x2 / n2 - x1 / n1) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def changes(previous: Tally | None, current: Tally) -> dict[str, Any]:
    """Per metric: change versus the previous shown wave, its p-value and ▲/▼ when p < 0.05. The change is that
    of the calibrated expected share (the same intervals as everywhere else in the report); a file without the
    probability falls back to the counted share and a two-proportion test."""
    result: dict[str, Any] = {}
    for metric in METRICS:
        if previous is None or not previous.ok or not current.ok:
            result[metric] = {"delta": None, "p_value": None, "flag": ""}
            continue
        calibrated = mean_difference(previous, current, metric)
        if calibrated is not None:
            delta, se = calibrated
            p_value = math.erfc(abs(delta / se) / math.sqrt(2)) if se > 0 else None
        else:
            x1, x2 = metric_count(previous, metric), metric_count(current, metric)
            p_value = two_proportion_test(x1, previous.ok, x2, current.ok)
            delta = x2 / current.ok - x1 / previous.ok
        flag = ""
        if p_value is not None and p_value < CHANGE_ALPHA:
            flag = "▲" if delta > 0 else "▼"
        result[metric] = {
            "delta": round(delta, 4),
            "p_value": None if p_value is None else round(p_value, 4),
            "flag": flag,
        }
    return result


def wave_order(name: str) -> tuple[Any, ...]:
    """Dates in time order first, then other names in natural order (2025Q2 before 2025Q10), blank last."""
    if name == BLANK:
        return (2,)
    try:
        moment = dt.datetime.fromisoformat(name)
    except ValueError:
        parts = _NATURAL.split(name)
        return (1, tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts))
    return (0, moment.replace(tzinfo=None).isoformat())


# Function words the model often leans on (deleting 不 or 的 changes a sentence) but that tell a manager nothing.
FUNCTION_WORDS = frozenset(
    "的 了 是 就 也 都 还 又 在 和 与 及 或 一 一个 这 那 这个 那个 我 我们 你 你们 他 他们 她 她们 它 人 有 没 没有 "  # noqa: SIM905
    "不 说 要 会 能 被 把 给 让 对 从 到 个 吧 呢 啊 吗 嘛 很 太 更 最 就是 一句 其实 然后 但是 因为 所以 什么 怎么 "
    "一下 这样 那样 现在 已经 可以 觉得 认为 地 得 着 过".split()
)


def _top_words(
    counter: Counter[str], limit: int, minimum: int, unnamed: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Most frequent evidence words seen in at least ``minimum`` comments; words holding personal data (those
    redaction would change), punctuation and function words are never listed."""
    words = []
    for word, count in sorted(counter.items(), key=lambda item: (-item[1], item[0])):
        if count < minimum or len(words) >= limit:
            break
        if not any(char.isalnum() for char in word) or word in FUNCTION_WORDS or redact(word) != word:
            continue
        if any(word in name or name in word for name in unnamed):
            continue
        words.append({"word": word, "comments": count})
    return words


def build_view(
    aggregates: Aggregates,
    *,
    hidden_groups: set[str],
    hidden_waves: set[str],
    hidden_cells: set[Cell],
    has_groups: bool,
    has_waves: bool,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """Everything the report shows, privacy rules already applied. ``samples`` holds redacted text and is the
    only part that is not written to aggregates.json."""
    cells = aggregates.cells
    group_tallies: dict[str, Tally] = {}
    wave_tallies: dict[str, Tally] = {}
    for (group, wave), tally in cells.items():
        group_tallies.setdefault(group, Tally()).add(tally)
        wave_tallies.setdefault(wave, Tally()).add(tally)
    overall = total(cells.values())
    shown_groups = sorted(
        (group for group in group_tallies if group not in hidden_groups),
        key=lambda group: (-group_tallies[group].n, group),
    )
    sequence = {wave: index for index, wave in enumerate(aggregates.wave_sequence)}
    order = (lambda wave: (sequence[wave],)) if sequence else wave_order  # surveys keep their given order
    shown_waves = sorted((wave for wave in wave_tallies if wave not in hidden_waves), key=order)
    rank = {group: position for position, group in enumerate(shown_groups)}
    visible_cells = sorted(
        (cell for cell in cells if cell not in hidden_cells and cell[0] in rank and cell[1] not in hidden_waves),
        key=lambda cell: (rank[cell[0]], order(cell[1])),
    )

    # groups too small to show are not named in any quote or word either (their size, not arithmetic, hid them)
    small = settings["min_group_size"]
    unnamed = frozenset(g for g in hidden_groups if g != BLANK and group_tallies[g].n < small)
    view: dict[str, Any] = {**settings, "model_versions": sorted(aggregates.model_versions)}
    view["overall"] = distribution(overall)
    view["barrier_sentiment"] = [
        {
            "barrier": label,
            "n": sum(overall.cross[row]),
            "sentiment": {
                sentiment: {
                    "n": overall.cross[row][col],
                    "share": share(overall.cross[row][col], sum(overall.cross[row])),
                }
                for col, sentiment in enumerate(SENTIMENTS)
            },
        }
        for row, label in enumerate([*BARRIERS, "no_barrier"])
    ]
    if has_groups:
        view["groups"] = [{"group": group, **distribution(group_tallies[group])} for group in shown_groups]
        view["groups_total"] = len(group_tallies)
        view["suppressed_groups"] = len(hidden_groups)
        k = settings["min_group_size"]
        # groups of at least k hidden only so that a smaller one cannot be worked out: these may be named
        view["suppressed_groups_complementary"] = sorted(g for g in hidden_groups if group_tallies[g].n >= k)
        view["suppressed_groups_small"] = sum(1 for g in hidden_groups if group_tallies[g].n < k)
    if has_waves:
        waves = []
        previous: Tally | None = None
        for wave in shown_waves:
            waves.append(
                {"wave": wave, **distribution(wave_tallies[wave]), "changes": changes(previous, wave_tallies[wave])}
            )
            previous = wave_tallies[wave]
        view["waves"] = waves
        view["suppressed_waves"] = len(hidden_waves)
    if has_groups and has_waves:
        rows = []
        for group in shown_groups:
            previous = None
            for wave in shown_waves:
                tally = cells.get((group, wave))
                if tally is None:
                    rows.append({"group": group, "wave": wave, "suppressed": False, **distribution(Tally())})
                    continue
                if (group, wave) in hidden_cells:
                    rows.append({"group": group, "wave": wave, "suppressed": True})
                    continue
                rows.append(
                    {
                        "group": group,
                        "wave": wave,
                        "suppressed": False,
                        **distribution(tally),
                        "changes": changes(previous, tally),
                    }
                )
                previous = tally
        view["group_waves"] = rows
        view["suppressed_cells"] = sum(1 for row in rows if row["suppressed"])

    minimum, limit = settings["min_word_comments"], settings["top_words"]
    word_scopes: list[tuple[str, list[Cell]]] = [("all", visible_cells)]
    if has_groups:
        word_scopes += [(group, [cell for cell in visible_cells if cell[0] == group]) for group in shown_groups]
    evidence = []
    for scope, scope_cells in word_scopes:
        for index, label in enumerate(BARRIERS):
            counter: Counter[str] = Counter()
            for cell in scope_cells:
                if cell in aggregates.words:
                    counter.update(aggregates.words[cell][index])
            evidence.append(
                {
                    "scope": "overall" if scope == "all" else "group",
                    "group": None if scope == "all" else scope,
                    "barrier": label,
                    "words": _top_words(counter, limit, minimum, unnamed),
                }
            )
    view["evidence_words"] = evidence
    view["evidence_words_pruned"] = aggregates.words_pruned
    per_label, chars = settings["samples_per_barrier"], settings["sample_chars"]
    view["samples"] = label_quotes(aggregates.pools, BARRIERS, visible_cells, per_label, chars, unnamed)
    view["group_samples"] = group_quotes(
        aggregates.pools, shown_groups if has_groups else [], visible_cells, per_label, chars, unnamed
    )
    flagged = [
        (rank, sample, cell) for cell in visible_cells for rank, _, sample in aggregates.review_pools.get(cell, [])
    ]
    view["review_samples"] = quote(flagged, settings["review_samples"], chars, unnamed)
    view["expected"] = {key: overall.expected(key) for key in (*BARRIERS, "negative")}
    if aggregates.has_causes:
        view["causes"] = cause_view(
            overall,
            group_tallies,
            wave_tallies,
            shown_groups if has_groups else [],
            shown_waves if has_waves else [],
        )
        view["cause_samples"] = label_quotes(aggregates.cause_pools, CAUSES, visible_cells, per_label, chars, unnamed)
        # the words behind each cause, and for each word the kept comments of that cause that contain it
        view["cause_words"], view["word_comments"] = {}, {}
        for index, cause in enumerate(CAUSES):
            counter: Counter[str] = Counter()
            for cell in visible_cells:
                if cell in aggregates.cause_words:
                    counter.update(aggregates.cause_words[cell][index])
            view["cause_words"][cause] = words = _top_words(counter, limit, minimum, unnamed)
            pooled = [
                (r, sample, cell)
                for cell in visible_cells
                for r, _, sample in aggregates.cause_pools.get(cell, [[]] * len(CAUSES))[index]
            ]
            for word in words:
                behind = [item for item in pooled if word["word"] in item[1].text]
                view["word_comments"][f"{cause}\u241f{word['word']}"] = quote(behind, 3, chars, unnamed)
    if aggregates.has_about:
        view["internal"] = internal_map(
            aggregates,
            hidden_groups=hidden_groups,
            hidden_waves=hidden_waves,
            shown_waves=shown_waves if has_waves else [],
            k=settings["min_group_size"],
            samples=per_label,
            sample_chars=chars,
            unnamed=unnamed,
        )
        view["pair_samples"] = view["internal"].pop("comments", {})
    return view


# --- CSV ------------------------------------------------------------------------------------------------


def _flat(distribution_: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {key: distribution_[key] for key in ("n", "ok", "empty", "error")}
    row["n_needs_review"] = distribution_["needs_review"]["n"]
    row["share_needs_review"] = distribution_["needs_review"]["share"]
    for label in BARRIERS:
        row[f"n_{label}"] = distribution_["barriers"][label]["n"]
        row[f"share_{label}"] = distribution_["barriers"][label]["share"]
    row["n_no_barrier"] = distribution_["no_barrier"]["n"]
    row["share_no_barrier"] = distribution_["no_barrier"]["share"]
    for label in SENTIMENTS:
        row[f"n_{label}"] = distribution_["sentiment"][label]["n"]
        row[f"share_{label}"] = distribution_["sentiment"][label]["share"]
    return row


def _flat_changes(values: dict[str, Any] | None) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for metric in METRICS:
        change = (values or {}).get(metric, {})
        row[f"change_{metric}"] = change.get("delta")
        row[f"p_{metric}"] = change.get("p_value")
        row[f"flag_{metric}"] = change.get("flag", "")
    return row


def write_csvs(view: dict[str, Any], folder: Path) -> list[str]:
    """The view's tables as CSV files for dashboards and one workbook of them all; returns the names written."""
    tables: list[tuple[str, list[dict[str, Any]], list[str]]] = []
    groups = [{"scope": "overall", "group": "", **_flat(view["overall"])}]
    groups += [{"scope": "group", "group": row["group"], **_flat(row)} for row in view.get("groups", [])]
    tables.append(("groups.csv", groups, ["scope", "group", *_flat(view["overall"])]))

    cross = [
        {"barrier": row["barrier"], "sentiment": sentiment, "n": value["n"], "share_of_barrier": value["share"]}
        for row in view["barrier_sentiment"]
        for sentiment, value in row["sentiment"].items()
    ]
    tables.append(("barrier_sentiment.csv", cross, ["barrier", "sentiment", "n", "share_of_barrier"]))

    change_columns = list(_flat_changes(None))
    if "waves" in view:
        waves = [{"wave": row["wave"], **_flat(row), **_flat_changes(row["changes"])} for row in view["waves"]]
        tables.append(("waves.csv", waves, ["wave", *_flat(view["overall"]), *change_columns]))
    if "group_waves" in view:
        cells = []
        for row in view["group_waves"]:
            flat: dict[str, Any] = {"group": row["group"], "wave": row["wave"], "suppressed": row["suppressed"]}
            if not row["suppressed"]:
                flat.update(_flat(row))
                flat.update(_flat_changes(row.get("changes")))
            cells.append(flat)
        columns = ["group", "wave", "suppressed", *_flat(view["overall"]), *change_columns]
        tables.append(("group_waves.csv", cells, columns))

    words = [
        {
            "scope": entry["scope"],
            "group": entry["group"] or "",
            "barrier": entry["barrier"],
            "rank": rank,
            "word": word["word"],
            "comments": word["comments"],
        }
        for entry in view["evidence_words"]
        for rank, word in enumerate(entry["words"], start=1)
    ]
    words += [
        {"scope": "cause", "group": "", "barrier": BARRIER_OF_CAUSE[cause], "cause": cause, "rank": rank, **word}
        for cause, found in view.get("cause_words", {}).items()
        for rank, word in enumerate(found, start=1)
    ]
    columns = ["scope", "group", "barrier", "rank", "word", "comments", "cause"]
    tables.append(("evidence_words.csv", words, columns))
    for name, (rows, columns) in csv_tables(view).items():
        tables.append((name, rows, columns))
    return write_tables(tables, folder)
