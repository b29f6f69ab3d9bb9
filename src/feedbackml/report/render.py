"""The report as one self-contained HTML page, rendered from the Jinja2 template ``templates/report.html.j2``
with autoescaping: inline CSS, charts as inline SVG (``charts.py``), one inline script of ours
(``templates/report.js``: sorting, filters, print) under a Content-Security-Policy that allows no network."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from feedbackml.labels import BARRIERS, SENTIMENTS
from feedbackml.report.charts import COLORS, CSS, NAMES, pct, svg_bars, svg_heatmap, svg_stacked, svg_trend
from feedbackml.report.view import CHANGE_ALPHA, METRICS

MAP_SIDE = 16  # departments per side of the drawn map


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("feedbackml.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters["pct"] = pct
    env.filters["thousands"] = lambda value: f"{value:,}"
    env.globals.update(
        BARRIERS=BARRIERS,
        SENTIMENTS=SENTIMENTS,
        METRICS=METRICS,
        NAMES=NAMES,
        COLORS=COLORS,
        CHANGE_ALPHA=CHANGE_ALPHA,
    )
    return env


def _bar_row(label: str, stat: dict[str, Any]) -> tuple[str, float, str, str]:
    """One bar of a distribution chart: name, share, its label and colour."""
    return NAMES[label], stat["share"], f"{pct(stat['share'])}  n={stat['n']:,}", COLORS[label]


def charts(view: dict[str, Any]) -> dict[str, Markup]:
    """The SVG charts of the page (geometry is Python; the markup around them is the template's)."""
    overall = view["overall"]
    barrier_rows = [_bar_row(label, overall["barriers"][label]) for label in BARRIERS]
    barrier_rows.append(_bar_row("no_barrier", overall["no_barrier"]))
    found = {
        "barriers": svg_bars(barrier_rows),
        "sentiment": svg_bars([_bar_row(label, overall["sentiment"][label]) for label in SENTIMENTS]),
    }
    if "groups" in view:
        found["groups"] = svg_stacked(
            [
                (group["group"], [(group["sentiment"][label]["share"], COLORS[label]) for label in SENTIMENTS])
                for group in view["groups"]
            ]
        )
    if "waves" in view:
        waves = view["waves"]
        series = []
        for metric in METRICS:
            values = [
                wave["sentiment"][metric]["share"] if metric == "negative" else wave["barriers"][metric]["share"]
                for wave in waves
            ]
            series.append((NAMES[metric], COLORS[metric], values, [wave["changes"][metric]["flag"] for wave in waves]))
        found["trend"] = svg_trend([wave["wave"] for wave in waves], series)
    internal = view.get("internal")
    if internal and internal["shown"]:
        cells: dict[tuple[str, str], tuple[int, float | None]] = {
            (pair["from"], pair["about"]): (pair["n"], pair["negative"]["share"]) for pair in internal["pairs"]
        }
        # the map draws the departments with the most shown comments (the ranked list and the CSV have them all)
        sums: dict[tuple[int, str], int] = {}
        for (writer, about), (n, _) in cells.items():
            sums[(0, writer)] = sums.get((0, writer), 0) + n
            sums[(1, about)] = sums.get((1, about), 0) + n
        rows = [w for w in internal["writers"] if (0, w) in sums][:MAP_SIDE]
        columns = sorted((a for a in internal["targets"] if (1, a) in sums), key=lambda a: (-sums[(1, a)], a))
        found["map"] = svg_heatmap(rows, columns[:MAP_SIDE], cells)
    return found


def render_html(view: dict[str, Any]) -> str:
    """The whole report page."""
    css = Markup(CSS)  # noqa: S704 - a constant of this module, no user data
    return environment().get_template("report.html.j2").render(view=view, charts=charts(view), css=css)
