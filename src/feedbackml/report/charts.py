"""The report's charts as inline SVG (text stays text, so the reader's own fonts draw Chinese group names), its
colours, label names and CSS. The page itself is the Jinja2 template ``templates/report.html.j2``."""

from __future__ import annotations

import html
from typing import Any

from markupsafe import Markup

from feedbackml.labels import BARRIER_NAMES_ZH, BARRIERS, SENTIMENT_NAMES_ZH, SENTIMENTS

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
.filters { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center;
  margin: 12px -8px; padding: 8px; background: #fff; border-bottom: 1px solid var(--line); font-size: 13px; }
.filters select, .filters button { font: inherit; padding: 2px 4px; }
th[data-sort]::after { content: " ↕"; color: var(--muted); }
table.sortable th { cursor: pointer; }
details summary { cursor: pointer; color: #2a7f9e; }
details blockquote { font-size: 13px; }
details.word, span.word { display: inline-block; margin: 0 10px 2px 0; vertical-align: top; }
details.word[open] { display: block; }
[hidden] { display: none !important; }
@media (max-width: 640px) {
  main { padding: 12px 12px 32px; }
  h1 { font-size: 21px; }
  table { display: block; overflow-x: auto; max-width: 100%; }
  .card { flex-basis: 42%; }
  .filters { position: static; }
}
@media print {
  body { background: #fff; }
  main { max-width: none; padding: 0; }
  .filters { display: none; }
  h2, h3, p.note { break-after: avoid; page-break-after: avoid; }
  .keep, section { break-inside: avoid; page-break-inside: avoid; }
  table, svg, blockquote, tr, .card, .privacy { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  details > summary { list-style: none; }
}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def pct(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.1f}%"


def _short_label(name: str) -> str:
    return name if len(name) <= _LABEL_CHARS else name[: _LABEL_CHARS - 1] + "…"


# --- SVG charts ------------------------------------------------------------------------------------------


def svg_bars(rows: list[tuple[str, float | None, str, str]], width: int = 640) -> Markup:
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
    return Markup("".join(parts))  # noqa: S704 - every value in it went through esc()


def svg_stacked(rows: list[tuple[str, list[tuple[float | None, str]]]], width: int = 760) -> Markup:
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
    return Markup("".join(parts))  # noqa: S704 - every value in it went through esc()


def svg_trend(
    waves: list[str], series: list[tuple[str, str, list[float | None], list[str]]], width: int = 860
) -> Markup:
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
    return Markup("".join(parts))  # noqa: S704 - every value in it went through esc()


def svg_heatmap(rows: list[str], columns: list[str], cells: dict[tuple[str, str], tuple[int, float | None]]) -> Markup:
    """The internal-customer map: writers (rows) x departments written about (columns); each cell's shade is
    its negative share, its text the number of comments. A hidden pair is drawn like an empty one: that a few
    comments exist between two departments is itself something a small group should not have shown."""
    label_w, cell_w, cell_h, head_h = 120, 58, 26, 92
    width, height = label_w + cell_w * len(columns) + 10, head_h + cell_h * len(rows) + 8
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" class="heat">']
    for j, column in enumerate(columns):
        x = label_w + j * cell_w + cell_w / 2
        parts.append(
            f'<text transform="translate({x:.1f},{head_h - 6}) rotate(-40)"><title>{esc(column)}</title>'
            f"{esc(_short_label(column))}</text>"
        )
    for i, row in enumerate(rows):
        y = head_h + i * cell_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end"><title>{esc(row)}</title>'
            f"{esc(_short_label(row))}</text>"
        )
        for j, column in enumerate(columns):
            x = label_w + j * cell_w
            if (row, column) not in cells:
                parts.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="#fafbfc"/>')
                continue
            n, negative = cells[(row, column)]
            alpha = 0.08 + 0.85 * (negative or 0.0)
            ink = "#fff" if alpha > 0.55 else "#1f2933"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="#b23a48" '
                f'fill-opacity="{alpha:.2f}"><title>{esc(row)} → {esc(column)}: n={n}, '
                f"负面 {pct(negative)}</title></rect>"
                f'<text x="{x + cell_w / 2 - 1:.1f}" y="{y + 17}" text-anchor="middle" style="fill:{ink}">{n}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value in it went through esc()
