"""The report as one self-contained HTML page: inline CSS, charts as inline SVG (text stays text, so the
reader's own fonts draw Chinese group names), no scripts, no network references."""

from __future__ import annotations

import html
from typing import Any

from feedbackml.labels import BARRIER_NAMES_ZH, BARRIERS, SENTIMENT_NAMES_ZH, SENTIMENTS
from feedbackml.report.view import CHANGE_ALPHA, METRICS

COLORS = {
    "subjective": "#c8553d",
    "objective": "#e0a030",
    "role_misalignment": "#2a7f9e",
    "no_barrier": "#9aa5b1",
    "negative": "#b23a48",
    "neutral": "#a0a7b0",
    "positive": "#3c9d5d",
}
NAMES = {
    **{label: f"{BARRIER_NAMES_ZH[label]} {label.replace('_', ' ')}" for label in BARRIERS},
    **{label: f"{SENTIMENT_NAMES_ZH[label]} {label}" for label in SENTIMENTS},
    "no_barrier": "无障碍 no barrier",
}
_LABEL_CHARS = 14

CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); line-height: 1.5;
  font-family: -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
    "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 6px; }
.sub, .note, small { color: var(--muted); }
.note { font-size: 13px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { flex: 1 1 140px; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card b { display: block; font-size: 22px; }
.card span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 9px; text-align: left; vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.bar { background: linear-gradient(90deg, var(--c) var(--p), transparent var(--p)); }
td.hidden { color: var(--muted); text-align: center; }
.up { color: #b23a48; font-weight: 700; }
.down { color: #2a7f9e; font-weight: 700; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
svg { display: block; margin: 6px 0 10px; max-width: 100%; height: auto; }
svg text { font-size: 12px; fill: var(--ink); }
.words li { margin: 2px 0; }
.words { columns: 3; font-size: 13px; }
blockquote { margin: 8px 0; padding: 8px 12px; border-left: 4px solid var(--line); background: #fafbfc; }
blockquote small { display: block; margin-top: 2px; }
.privacy { background: #fff8e6; border: 1px solid #f0d9a0; border-radius: 8px; padding: 4px 18px; }
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def pct(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.1f}%"


def _short_label(name: str) -> str:
    return name if len(name) <= _LABEL_CHARS else name[: _LABEL_CHARS - 1] + "…"


def _tint(color: str) -> str:
    return color + "33"  # the colour at 20% opacity, for bars behind table numbers


def bar_cell(value: dict[str, Any], color: str, after: str = "") -> str:
    """A table cell with share, n and a bar drawn behind them (``after``: e.g. a change marker)."""
    share = value["share"]
    width = 0.0 if share is None else 100 * share
    style = f"--p:{width:.1f}%;--c:{_tint(color)}"
    return f'<td class="num bar" style="{style}">{pct(share)} <small>n={value["n"]}</small>{after}</td>'


# --- SVG charts ------------------------------------------------------------------------------------------


def svg_bars(rows: list[tuple[str, float | None, str, str]], width: int = 640) -> str:
    """Horizontal bars: (label, share, text after the bar, colour)."""
    label_w, row_h, right = 190, 26, 120
    plot_w = width - label_w - right
    height = row_h * len(rows) + 8
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for i, (label, share, after, color) in enumerate(rows):
        y = 4 + i * row_h
        length = 0.0 if share is None else plot_w * share
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end"><title>{esc(label)}</title>'
            f"{esc(_short_label(label) if len(label) > 24 else label)}</text>"
        )
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{plot_w}" height="{row_h - 10}" fill="#f0f2f5"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="{row_h - 10}" fill="{color}"/>')
        parts.append(f'<text x="{label_w + plot_w + 6}" y="{y + 16}">{esc(after)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_stacked(rows: list[tuple[str, list[tuple[float | None, str]]]], width: int = 760) -> str:
    """One 100% bar per row (e.g. the sentiment mix of each group)."""
    label_w, row_h = 150, 24
    plot_w = width - label_w - 20
    height = row_h * len(rows) + 8
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for i, (label, segments) in enumerate(rows):
        y = 4 + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end"><title>{esc(label)}</title>'
            f"{esc(_short_label(label))}</text>"
        )
        x = float(label_w)
        for share, color in segments:
            length = 0.0 if share is None else plot_w * share
            if length > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y + 3}" width="{length:.1f}" height="{row_h - 8}" fill="{color}"/>'
                )
                if length > 34:
                    parts.append(
                        f'<text x="{x + length / 2:.1f}" y="{y + 15}" text-anchor="middle" '
                        f'style="fill:#fff">{pct(share)}</text>'
                    )
            x += length
    parts.append("</svg>")
    return "".join(parts)


def svg_trend(waves: list[str], series: list[tuple[str, str, list[float | None], list[str]]], width: int = 860) -> str:
    """Lines of shares per wave; a significant change is drawn as a ringed point with ▲ or ▼."""
    left, right, top, bottom, pad = 52, 20, 16, 56, 36
    height = 320
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [value for _, _, points, _ in series for value in points if value is not None]
    highest = max(values, default=0.0)
    step = 0.05 if highest < 0.2 else 0.1 if highest < 0.6 else 0.2
    ticks = min(round(1 / step), int(highest / step) + 1)
    ceiling = step * ticks
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for tick in range(ticks + 1):
        share = step * tick
        y = top + plot_h * (1 - share / ceiling)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{100 * share:.0f}%</text>')

    def x_of(index: int) -> float:
        inner = plot_w - 2 * pad
        return left + pad + (inner / 2 if len(waves) == 1 else inner * index / (len(waves) - 1))

    for index, wave in enumerate(waves):
        parts.append(
            f'<text x="{x_of(index):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{esc(_short_label(wave))}</text>'
        )
    for _, color, points, flags in series:
        path = []
        for index, value in enumerate(points):
            if value is None:
                continue
            y = top + plot_h * (1 - value / ceiling)
            path.append(f"{'M' if not path else 'L'}{x_of(index):.1f},{y:.1f}")
        if path:
            parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{color}" stroke-width="2"/>')
        for index, value in enumerate(points):
            if value is None:
                continue
            x, y = x_of(index), top + plot_h * (1 - value / ceiling)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>')
            if flags[index]:
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="none" stroke="{color}" stroke-width="2"/>'
                    f'<text x="{x + 10:.1f}" y="{y - 8:.1f}" style="fill:{color};font-weight:700">{flags[index]}</text>'
                )
    legend_y = height - 12
    x = float(left)
    for name, color, _, _ in series:
        parts.append(f'<rect x="{x:.0f}" y="{legend_y - 9}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 14:.0f}" y="{legend_y}">{esc(name)}</text>')
        x += 22 + 7.5 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def _legend(labels: list[str]) -> str:
    items = "".join(f'<span><i style="background:{COLORS[label]}"></i>{esc(NAMES[label])}</span>' for label in labels)
    return f'<div class="legend">{items}</div>'


# --- sections --------------------------------------------------------------------------------------------


def _overview(view: dict[str, Any]) -> str:
    overall = view["overall"]
    cards = [
        (f"{overall['n']:,}", "评论总数 rows"),
        (f"{overall['ok']:,}", "已评分 scored (ok)"),
        (f"{overall['empty']:,}", "空白 empty"),
        (f"{overall['error']:,}", "出错 error"),
        (pct(overall["needs_review"]["share"]), f"待复核 needs review (n={overall['needs_review']['n']:,})"),
    ]
    if "groups" in view:
        cards.append((f"{len(view['groups'])}", f"显示的分组 groups shown ({esc(view['group_col'])})"))
    if "waves" in view:
        cards.append((f"{len(view['waves'])}", f"批次 waves shown ({esc(view['wave_col'])})"))
    versions = ", ".join(view["model_versions"]) or "–"
    lines = [
        '<h2 id="overview">1. 概览 Overview</h2>',
        '<div class="cards">'
        + "".join(f"<div class='card'><b>{value}</b><span>{label}</span></div>" for value, label in cards)
        + "</div>",
        f"<p class='note'>数据文件 Scored file: <code>{esc(view['source'])}</code> · 模型版本 model version: "
        f"<code>{esc(versions)}</code> · 生成日期 generated: {esc(view['generated'])}</p>",
    ]
    if len(view["model_versions"]) > 1:
        lines.append("<p class='note'><b>注意 Note:</b> the file was scored by more than one model version.</p>")
    if "groups" in view:
        lines.append(_suppressed_line(view))
    return "\n".join(lines)


def _suppressed_line(view: dict[str, Any]) -> str:
    return (
        f"<p class='note'>已隐藏的小组 Suppressed groups ({view['suppressed_groups']} groups): fewer than "
        f"{view['min_group_size']} comments, or hidden so that no small group can be worked out by subtraction. "
        "They are still counted in the overall figures.</p>"
    )


def _bar_row(label: str, stat: dict[str, Any]) -> tuple[str, float, str, str]:
    """One bar of a distribution chart: name, share, its label and colour."""
    return NAMES[label], stat["share"], f"{pct(stat['share'])}  n={stat['n']:,}", COLORS[label]


def _distribution_section(view: dict[str, Any]) -> str:
    overall = view["overall"]
    barrier_rows = [_bar_row(label, overall["barriers"][label]) for label in BARRIERS]
    barrier_rows.append(_bar_row("no_barrier", overall["no_barrier"]))
    sentiment_rows = [_bar_row(label, overall["sentiment"][label]) for label in SENTIMENTS]
    return "\n".join(
        [
            '<h2 id="distribution">2. 障碍与情感分布 Barriers and sentiment</h2>',
            f"<p class='note'>Shares of the {overall['ok']:,} scored comments. A comment can name several barriers, "
            "so barrier shares need not add up to 100%.</p>",
            "<h3>障碍 Barriers</h3>",
            svg_bars(barrier_rows),
            "<h3>情感 Sentiment</h3>",
            svg_bars(sentiment_rows),
        ]
    )


def _cross_section(view: dict[str, Any]) -> str:
    header = "".join(f"<th>{esc(NAMES[label])}</th>" for label in SENTIMENTS)
    rows = []
    for row in view["barrier_sentiment"]:
        cells = "".join(bar_cell(row["sentiment"][label], COLORS[label]) for label in SENTIMENTS)
        rows.append(f"<tr><td>{esc(NAMES[row['barrier']])}</td><td class='num'>{row['n']:,}</td>{cells}</tr>")
    return "\n".join(
        [
            '<h2 id="cross">3. 障碍 × 情感 Barrier × sentiment</h2>',
            "<p class='note'>Each row: the comments with that barrier, and how their sentiment splits (row %).</p>",
            f"<table><tr><th>障碍 barrier</th><th>n</th>{header}</tr>{''.join(rows)}</table>",
        ]
    )


def _groups_section(view: dict[str, Any]) -> str:
    if "groups" not in view:
        return ""
    head = "".join(f"<th>{esc(NAMES[label])}</th>" for label in [*BARRIERS, "no_barrier"])
    head += "".join(f"<th>{esc(NAMES[label])}</th>" for label in SENTIMENTS)
    rows = []
    for group in view["groups"]:
        cells = "".join(bar_cell(group["barriers"][label], COLORS[label]) for label in BARRIERS)
        cells += bar_cell(group["no_barrier"], COLORS["no_barrier"])
        cells += "".join(bar_cell(group["sentiment"][label], COLORS[label]) for label in SENTIMENTS)
        rows.append(
            f"<tr><td>{esc(group['group'])}</td><td class='num'>{group['n']:,}</td>"
            f"<td class='num'>{group['ok']:,}</td>{cells}</tr>"
        )
    stacked = svg_stacked(
        [
            (group["group"], [(group["sentiment"][label]["share"], COLORS[label]) for label in SENTIMENTS])
            for group in view["groups"]
        ]
    )
    return "\n".join(
        [
            f'<h2 id="groups">4. 分组 By {esc(view["group_col"])}</h2>',
            _suppressed_line(view),
            "<h3>情感构成 Sentiment mix</h3>",
            _legend(list(SENTIMENTS)),
            stacked,
            "<h3>障碍与情感 Barriers and sentiment (share of scored comments)</h3>",
            f"<table><tr><th>分组 group</th><th>n</th><th>ok</th>{head}</tr>{''.join(rows)}</table>",
        ]
    )


def _flag(change: dict[str, Any] | None) -> str:
    if not change or not change["flag"]:
        return ""
    kind = "up" if change["flag"] == "▲" else "down"
    return f' <span class="{kind}" title="p={change["p_value"]}">{change["flag"]}</span>'


def _waves_section(view: dict[str, Any], number: int) -> str:
    if "waves" not in view:
        return ""
    waves = view["waves"]
    names = [wave["wave"] for wave in waves]
    series = []
    for metric in METRICS:
        values = [
            wave["sentiment"][metric]["share"] if metric == "negative" else wave["barriers"][metric]["share"]
            for wave in waves
        ]
        series.append((NAMES[metric], COLORS[metric], values, [wave["changes"][metric]["flag"] for wave in waves]))
    head = "".join(f"<th>{esc(NAMES[metric])}</th>" for metric in METRICS)
    rows = []
    for wave in waves:
        cells = ""
        for metric in METRICS:
            value = wave["sentiment"][metric] if metric == "negative" else wave["barriers"][metric]
            cells += bar_cell(value, COLORS[metric], _flag(wave["changes"][metric]))
        counts = f"<td class='num'>{wave['n']:,}</td><td class='num'>{wave['ok']:,}</td>"
        rows.append(f"<tr><td>{esc(wave['wave'])}</td>{counts}{cells}</tr>")
    parts = [
        f'<h2 id="trend">{number}. 趋势 Trend by {esc(view["wave_col"])}</h2>',
        f"<p class='note'>▲/▼: the share changed from the previous wave shown by more than sampling noise explains "
        f"(two-sided two-proportion z-test, pooled, p &lt; {CHANGE_ALPHA}; not corrected for the number of tests, "
        "so about 1 in 20 flags on unchanged data is expected by chance).</p>",
        svg_trend(names, series),
        f"<table><tr><th>批次 wave</th><th>n</th><th>ok</th>{head}</tr>{''.join(rows)}</table>",
    ]
    if view["suppressed_waves"]:
        parts.append(
            f"<p class='note'>已隐藏的批次 Suppressed waves ({view['suppressed_waves']} waves): fewer than "
            f"{view['min_group_size']} comments, or hidden so that none can be worked out by subtraction.</p>"
        )
    if "group_waves" in view and view["groups"]:
        parts.append(_group_wave_tables(view))
    return "\n".join(parts)


def _group_wave_tables(view: dict[str, Any]) -> str:
    waves = [wave["wave"] for wave in view["waves"]]
    by_cell = {(row["group"], row["wave"]): row for row in view["group_waves"]}
    parts = [
        f"<h3>分组 × 批次 {esc(view['group_col'])} × {esc(view['wave_col'])}</h3>",
        "<p class='note'>· = hidden cell (too few comments, or hidden so that it cannot be worked out from the row "
        "and column totals); – = no scored comments. ▲/▼ compare with the group's previous shown wave.</p>",
    ]
    for metric in METRICS:
        head = "".join(f"<th>{esc(wave)}</th>" for wave in waves)
        rows = []
        for group in view["groups"]:
            cells = ""
            for wave in waves:
                row = by_cell[(group["group"], wave)]
                if row["suppressed"]:
                    cells += "<td class='hidden' title='hidden'>·</td>"
                    continue
                value = row["sentiment"][metric] if metric == "negative" else row["barriers"][metric]
                cells += bar_cell(value, COLORS[metric], _flag((row.get("changes") or {}).get(metric)))
            rows.append(f"<tr><td>{esc(group['group'])}</td>{cells}</tr>")
        parts.append(f"<h3>{esc(NAMES[metric])}</h3><table><tr><th>分组 group</th>{head}</tr>{''.join(rows)}</table>")
    return "\n".join(parts)


def _words_list(words: list[dict[str, Any]]) -> str:
    if not words:
        return "<td class='note'>–</td>"
    return "<td>" + "、".join(f"{esc(word['word'])} <small>{word['comments']}</small>" for word in words) + "</td>"


def _words_section(view: dict[str, Any], number: int) -> str:
    entries = view["evidence_words"]
    overall = {entry["barrier"]: entry["words"] for entry in entries if entry["scope"] == "overall"}
    head = "".join(f"<th>{esc(NAMES[label])}</th>" for label in BARRIERS)
    rows = [f"<tr><td><b>全部 all shown</b></td>{''.join(_words_list(overall[label]) for label in BARRIERS)}</tr>"]
    for group in view.get("groups", []):
        words = {
            entry["barrier"]: entry["words"]
            for entry in entries
            if entry["scope"] == "group" and entry["group"] == group["group"]
        }
        rows.append(
            f"<tr><td>{esc(group['group'])}</td>{''.join(_words_list(words[label]) for label in BARRIERS)}</tr>"
        )
    pruned = (
        " Very many distinct words were seen, so rare words were dropped while counting; the top words are exact "
        "unless they are close to the cut-off."
        if view["evidence_words_pruned"]
        else ""
    )
    return "\n".join(
        [
            f'<h2 id="words">{number}. 证据词 Evidence words per barrier</h2>',
            "<p class='note'>The words the model relied on most (deleting them lowers the barrier's probability "
            f"most), with the number of comments in which each was evidence. Only words seen in at least "
            f"{view['min_word_comments']} comments are listed, and never words holding personal data or common "
            f"function words (的, 了, 不, 是 …).{pruned}</p>",
            f"<table><tr><th>分组 group</th>{head}</tr>{''.join(rows)}</table>",
        ]
    )


def _samples_section(view: dict[str, Any], number: int) -> str:
    parts = [
        f'<h2 id="samples">{number}. 代表性评论 Representative comments</h2>',
        "<p class='note'>The scored comments with the highest probability for each barrier, from shown groups and "
        "cells only. Personal data (mobile and ID-card numbers, e-mails, @mentions, employee IDs) is masked; "
        f"comments are shortened to {view['sample_chars']} characters.</p>",
    ]
    for label in BARRIERS:
        parts.append(f"<h3>{esc(NAMES[label])}</h3>")
        samples = view["samples"][label]
        if not samples:
            parts.append("<p class='note'>–</p>")
        for sample in samples:
            where = [f"p={sample['probability']:.2f}"]
            if sample["group"]:
                where.insert(0, esc(sample["group"]))
            if sample["wave"]:
                where.insert(1 if sample["group"] else 0, esc(sample["wave"]))
            parts.append(f"<blockquote>{esc(sample['text'])}<small>{' · '.join(where)}</small></blockquote>")
    return "\n".join(parts)


def _methods_section(view: dict[str, Any], number: int) -> str:
    k = view["min_group_size"]
    group_col = esc(view.get("group_col") or "group")
    return f"""<h2 id="methods">{number}. 方法与隐私 Methods and privacy</h2>
<p>Every comment was scored by the model ({esc(", ".join(view["model_versions"]) or "–")}): zero or more barriers
(主观障碍 subjective, 客观障碍 objective, 角色错位 role misalignment) and one sentiment. Shares are of the
comments with status <code>ok</code>; <code>empty</code> and <code>error</code> rows count in n only.
待复核 “needs review” marks comments the model was least sure about; they are included in the shares.
These are model predictions, not a survey of opinions: read them as trends, and read the comments.</p>
<div class="privacy">
<p><b>隐私规则 Privacy rules</b> (minimum group size k = {k})</p>
<ul>
<li>A {group_col} with fewer than {k} rows (any status) is not shown anywhere — not in tables, charts,
evidence words, comments or the CSV/JSON files, and not by name. Rows with a blank {group_col} form the group
“(blank)” under the same rule. Suppressed groups still count in the overall figures.</li>
<li>No derivation by subtraction: if the suppressed groups together hold more than 0 and fewer than {k} rows,
the next smallest groups are suppressed too, until the suppressed total is at least {k}. The same rule applies
to waves.</li>
<li>In the {group_col} × wave tables every cell below {k} rows is hidden, and further cells (smallest first) are
hidden until, in every row and every column shown, the hidden cells together hold 0 or at least {k} rows, so
that neither a {group_col}'s total nor a wave's total reveals a hidden cell.</li>
<li>Evidence words and representative comments come only from shown {group_col}s and cells. A word is listed only
when it was evidence in at least {view["min_word_comments"]} comments, and never when it contains personal data.
Comments are redacted automatically; names written without “@” are not detected, so read them before
forwarding this report.</li>
</ul>
</div>"""


def render_html(view: dict[str, Any]) -> str:
    """The whole report page."""
    sections = [
        _overview(view),
        _distribution_section(view),
        _cross_section(view),
        _groups_section(view),
    ]
    number = 5 if "groups" in view else 4
    if "waves" in view:
        sections.append(_waves_section(view, number))
        number += 1
    sections.append(_words_section(view, number))
    sections.append(_samples_section(view, number + 1))
    sections.append(_methods_section(view, number + 2))
    body = "\n".join(section for section in sections if section)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(view["title"])}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<h1>{esc(view["title"])}</h1>
<p class="sub">协作障碍与情感 · Collaboration barriers and sentiment in employee comments</p>
{body}
</main>
</body>
</html>
"""
