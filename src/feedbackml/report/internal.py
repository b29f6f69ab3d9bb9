"""The report's cause and internal-customer sections: the share of each cause under its barrier (overall, per
group, per wave), and the map of who writes about whom (writer's group x department written about), with the
per-department satisfaction view that internal-customer programmes feed into departmental reviews.

Every figure is a sum of tallies that the privacy rules left visible; the suppression itself is ``privacy.py``.
"""

from __future__ import annotations

from typing import Any

from feedbackml.labels import BARRIERS, CAUSE_NAMES_ZH, CAUSES, CAUSES_BY_BARRIER, SENTIMENTS
from feedbackml.report.aggregate import Aggregates, Tally, total
from feedbackml.report.privacy import suppress_pairs, suppress_table
from feedbackml.report.samples import quote
from feedbackml.report.tally import Z95, mean_difference, wilson

NEGATIVE = SENTIMENTS.index("negative")


def _share(count: int, of: int) -> float | None:
    return round(count / of, 4) if of else None


def cause_mix(tally: Tally) -> list[dict[str, Any]]:
    """Per barrier, each cause: comments carrying it, its share of the barrier's comments and of all scored
    comments, and the calibrated expected share (mean probability over scored comments) with its interval."""
    mix = []
    for barrier in BARRIERS:
        carrying = tally.barriers[BARRIERS.index(barrier)]
        causes = []
        for cause in CAUSES_BY_BARRIER[barrier]:
            count = tally.causes[CAUSES.index(cause)]
            causes.append(
                {
                    "cause": cause,
                    "name": CAUSE_NAMES_ZH[cause],
                    "n": count,
                    "share_of_barrier": _share(count, carrying),
                    "share": _share(count, tally.ok),
                    "expected": tally.expected(cause),
                }
            )
        mix.append({"barrier": barrier, "n": carrying, "causes": causes})
    return mix


def top_causes(tally: Tally, limit: int = 3) -> list[dict[str, Any]]:
    """The most frequent causes of a tally (ties by scheme order), each with its share of the tally's comments."""
    ranked = sorted(range(len(CAUSES)), key=lambda index: (-tally.causes[index], index))
    return [
        {"cause": CAUSES[index], "name": CAUSE_NAMES_ZH[CAUSES[index]], "n": tally.causes[index]}
        for index in ranked[:limit]
        if tally.causes[index] > 0
    ]


def sentiment_block(tally: Tally) -> dict[str, Any]:
    """Sentiment shares of a tally with 95% Wilson intervals."""
    block = {}
    for index, label in enumerate(SENTIMENTS):
        low, high = wilson(tally.sentiment[index], tally.ok)
        block[label] = {"n": tally.sentiment[index], "share": _share(tally.sentiment[index], tally.ok), "low": low}
        block[label]["high"] = high
    return block


def expected_change(previous: Tally | None, current: Tally, key: str) -> dict[str, Any] | None:
    """Change of the calibrated expected share of ``key`` against the previous shown wave, with the 95% normal
    interval of a difference of two independent means; ▲/▼ when the interval excludes 0."""
    found = mean_difference(previous, current, key) if previous is not None else None
    if found is None:
        return None
    delta, se = found
    low, high = delta - Z95 * se, delta + Z95 * se
    flag = "▲" if low > 0 else "▼" if high < 0 else ""
    return {"delta": round(delta, 4), "low": round(low, 4), "high": round(high, 4), "flag": flag}


def cause_view(
    overall: Tally, groups: dict[str, Tally], waves: dict[str, Tally], shown_groups: list[str], shown_waves: list[str]
) -> dict[str, Any]:
    """Cause mix overall, per shown group and per shown wave (with the change of each cause's expected share
    against the previous shown wave)."""
    by_wave = []
    previous: Tally | None = None
    for wave in shown_waves:
        mix = cause_mix(waves[wave])
        for block in mix:
            for cause in block["causes"]:
                cause["change"] = expected_change(previous, waves[wave], cause["cause"])
        by_wave.append({"wave": wave, "mix": mix})
        previous = waves[wave]
    return {
        "overall": cause_mix(overall),
        "groups": [{"group": group, "mix": cause_mix(groups[group])} for group in shown_groups],
        "waves": by_wave,
    }


def internal_map(
    aggregates: Aggregates,
    *,
    hidden_groups: set[str],
    hidden_waves: set[str],
    shown_waves: list[str],
    k: int,
    samples: int = 5,
    sample_chars: int = 160,
    unnamed: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The internal-customer map and the per-department view, privacy applied: pairs below ``k`` and every cell
    that could reveal one are hidden; a hidden group is never shown as writer or as target."""
    pairs: dict[tuple[str, str], Tally] = {}
    about_waves: dict[tuple[str, str], Tally] = {}
    for (writer, about, wave), tally in aggregates.pairs.items():
        pairs.setdefault((writer, about), Tally()).add(tally)
        about_waves.setdefault((about, wave), Tally()).add(tally)
    sizes = {pair: tally.ok for pair, tally in pairs.items()}
    if sum(sizes.values()) < k:
        empty: dict[str, Any] = {"shown": False, "pairs": [], "writers": [], "targets": [], "departments": []}
        return {**empty, "hidden_pairs": len(sizes), "total": None}
    hidden_writers, hidden_targets, hidden_pairs = suppress_pairs(sizes, hidden_groups, k)
    writers = sorted({w for w, _ in sizes if w not in hidden_writers}, key=lambda w: (-_sum(sizes, 0, w), w))
    targets = sorted({a for _, a in sizes if a not in hidden_targets}, key=lambda a: (-_sum(sizes, 1, a), a))

    shown_pairs = []
    for (writer, about), tally in pairs.items():
        if (writer, about) in hidden_pairs:
            continue
        shown_pairs.append(
            {
                "from": writer,
                "about": about,
                "n": tally.ok,
                "negative": {"n": tally.sentiment[NEGATIVE], "share": _share(tally.sentiment[NEGATIVE], tally.ok)},
                "barriers": {label: tally.barriers[i] for i, label in enumerate(BARRIERS)},
                "sentiment": sentiment_block(tally),
                "top_causes": top_causes(tally),
            }
        )
    shown_pairs.sort(key=lambda row: (-row["negative"]["n"], -row["n"], row["from"], row["about"]))

    # the department view: everything written about one target, over writers (hidden writers included: the
    # column total is shown as a margin of the map, which the suppression above protects), and per wave
    wave_sizes = {
        (about, wave): tally.ok for (about, wave), tally in about_waves.items() if about not in hidden_targets
    }
    hidden_about_waves: set[tuple[str, str]] = set()
    if sum(wave_sizes.values()) >= k:
        hidden_about_waves = suppress_table(wave_sizes, k, hidden_columns=set(hidden_waves))[2]
    departments = []
    for about in targets:
        column = total(tally for (_, target), tally in pairs.items() if target == about)
        trend = []
        previous: Tally | None = None
        for wave in shown_waves:
            cell = about_waves.get((about, wave))
            if cell is None:
                trend.append({"wave": wave, "shown": True, "n": 0})
                continue
            if (about, wave) in hidden_about_waves:
                trend.append({"wave": wave, "shown": False})
                continue
            trend.append({"wave": wave, "shown": True, "n": cell.ok, "sentiment": sentiment_block(cell)})
            trend[-1]["change"] = expected_change(previous, cell, "negative")
            previous = cell
        departments.append(
            {
                "about": about,
                "n": column.ok,
                "writers": sum(1 for (w, t) in pairs if t == about and (w, t) not in hidden_pairs),
                "sentiment": sentiment_block(column),
                "top_causes": top_causes(column),
                "needs_review": column.needs_review,
                "waves": trend,
                "latest_change": next((row["change"] for row in reversed(trend) if row.get("change")), None),
            }
        )
    # drill-down: a reproducible spread of each shown pair's comments, kept apart because it is text (the wave is
    # not said: a pair's cells per wave are not shown, so a quote must not place a comment in one)
    comments = {
        f"{pair['from']}\u2192{pair['about']}": quote(
            [
                (rank, sample, (pair["from"], ""))
                for rank, _, sample in aggregates.pair_pools.get((pair["from"], pair["about"]), [])
            ],
            samples,
            sample_chars,
            unnamed,
        )
        for pair in shown_pairs
    }
    return {
        "shown": True,
        "comments": comments,
        "writers": writers,
        "targets": targets,
        "pairs": shown_pairs,
        "departments": departments,
        "hidden_pairs": len(hidden_pairs),
        "hidden_writers": len(hidden_writers),
        "hidden_targets": len(hidden_targets),
        "total": sum(sizes.values()),
    }


def _sum(sizes: dict[tuple[str, str], int], axis: int, name: str) -> int:
    return sum(n for pair, n in sizes.items() if pair[axis] == name)


def csv_tables(view: dict[str, Any]) -> dict[str, tuple[list[dict[str, Any]], list[str]]]:
    """The cause and internal-customer sections as flat tables (file name → rows, columns) for dashboards."""
    tables: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
    if "causes" in view:
        rows = []
        scopes = [("overall", "", "", view["causes"]["overall"])]
        scopes += [("group", entry["group"], "", entry["mix"]) for entry in view["causes"]["groups"]]
        scopes += [("wave", "", entry["wave"], entry["mix"]) for entry in view["causes"]["waves"]]
        for scope, group, wave, mix in scopes:
            for block in mix:
                for cause in block["causes"]:
                    change = cause.get("change") or {}
                    rows.append(
                        {
                            "scope": scope,
                            "group": group,
                            "wave": wave,
                            "barrier": block["barrier"],
                            "cause": cause["cause"],
                            "cause_zh": cause["name"],
                            "n": cause["n"],
                            "share_of_barrier": cause["share_of_barrier"],
                            "share": cause["share"],
                            "expected": cause["expected"]["share"],
                            "expected_low": cause["expected"]["low"],
                            "expected_high": cause["expected"]["high"],
                            "change": change.get("delta"),
                            "change_low": change.get("low"),
                            "change_high": change.get("high"),
                            "flag": change.get("flag", ""),
                        }
                    )
        tables["causes.csv"] = (rows, list(rows[0]) if rows else ["scope"])
    internal = view.get("internal")
    if internal and internal["shown"]:
        pair_columns = ["from", "about", "n", "n_negative", "share_negative", *BARRIERS, "top_causes"]
        pairs = [
            {
                "from": pair["from"],
                "about": pair["about"],
                "n": pair["n"],
                "n_negative": pair["negative"]["n"],
                "share_negative": pair["negative"]["share"],
                **pair["barriers"],
                "top_causes": "|".join(cause["cause"] for cause in pair["top_causes"]),
            }
            for pair in internal["pairs"]
        ]
        tables["pairs.csv"] = (pairs, pair_columns)
        departments = []
        for department in internal["departments"]:
            row: dict[str, Any] = {"about": department["about"], "n": department["n"], "writers": department["writers"]}
            for label in SENTIMENTS:
                block = department["sentiment"][label]
                for kind in ("share", "low", "high"):
                    row[f"{kind}_{label}"] = block[kind]
            change = department["latest_change"] or {}
            row.update({"change_negative": change.get("delta"), "change_low": change.get("low")})
            row.update({"change_high": change.get("high"), "flag": change.get("flag", "")})
            row["top_causes"] = "|".join(cause["cause"] for cause in department["top_causes"])
            departments.append(row)
        columns = ["about", "n", "writers"]
        columns += [f"{kind}_{label}" for label in SENTIMENTS for kind in ("share", "low", "high")]
        columns += ["change_negative", "change_low", "change_high", "flag", "top_causes"]
        tables["departments.csv"] = (departments, columns)
    return tables
