"""``report.md`` of ``feedbackml evaluate``: the figures of report.json as tables a reviewer reads, with the
charts written beside it."""

from __future__ import annotations

from feedbackml.labels import SENTIMENTS

MIN_SLICE = 20  # slices smaller than this are listed but get no interval


def _fmt_ci(value: float, interval: list[float] | tuple[float, float]) -> str:
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"


def render_markdown(report: dict, charts: list[str]) -> str:
    b, s = report["barriers"], report["sentiment"]
    lines = [
        f"# Evaluation report — {report['model']['kind']} model {report['model']['version']}",
        "",
        f"{report['n']} comments. Intervals are 95% bootstrap intervals over comments.",
        "",
        "| metric | value [95% CI] |",
        "| --- | --- |",
        f"| barrier macro-F1 | {_fmt_ci(b['macro_f1'], b['macro_f1_ci95'])} |",
        f"| barrier micro-F1 | {_fmt_ci(b['micro_f1'], b['micro_f1_ci95'])} |",
        f"| barrier exact match | {b['exact_match']:.3f} |",
        f"| sentiment macro-F1 | {_fmt_ci(s['macro_f1'], s['macro_f1_ci95'])} |",
        f"| sentiment accuracy | {_fmt_ci(s['accuracy'], s['accuracy_ci95'])} |",
        "",
        *_baseline_table(report),
        "## Barriers",
        "",
        "| label | precision | recall | F1 [95% CI] | support |",
        "| --- | --- | --- | --- | --- |",
        *[
            f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {_fmt_ci(row['f1'], row['f1_ci95'])} | "
            f"{row['support']} |"
            for label, row in b["per_label"].items()
        ],
        "",
        f"No-barrier F1 {b['no_barrier_f1']:.3f}.",
        "",
        "## Sentiment confusion (rows gold, columns predicted)",
        "",
        "| | " + " | ".join(SENTIMENTS) + " |",
        "| --- | --- | --- | --- |",
        *[f"| {SENTIMENTS[i]} | " + " | ".join(str(v) for v in row) + " |" for i, row in enumerate(s["confusion"])],
        "",
        "## Calibration and abstention",
        "",
        f"Sentiment ECE {report['calibration']['sentiment']['ece']:.3f}; barrier ECE "
        f"{report['calibration']['barriers']['ece']:.3f}. {report['abstain']['flagged']} comments flagged "
        f"needs_review (coverage {report['abstain']['coverage']:.1%}).",
        "",
        "## Slices",
        "",
    ]
    for kind, slices in report["slices"].items():
        lines += [
            f"### by {kind}",
            "",
            "| slice | n | barrier macro-F1 | sentiment macro-F1 |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| {name} | {row['n']} | {row['barriers.macro_f1']:.3f} | {row['sentiment.macro_f1']:.3f} |"
            + (" (small)" if row["n"] < MIN_SLICE else "")
            for name, row in slices.items()
        ]
        lines.append("")
    lines += [f"![{chart}]({chart})" for chart in charts]
    lines += ["", "Misclassified ids with gold and predicted labels: `errors.jsonl`."]
    return "\n".join(lines) + "\n"


def _baseline_table(report: dict) -> list[str]:
    rows = report.get("versus_baseline")
    if not rows:
        return []
    lines = [
        "## Beside the TF-IDF baseline (same training data, same comments)",
        "",
        "| metric | baseline | this model | difference | paired bootstrap p |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {key} | {row['a']:.3f} | {row['b']:.3f} | {row['difference']:+.3f} | {row['p_value']:.3f} |"
        for key, row in rows.items()
    ]
    return [*lines, ""]
