"""The report as one self-contained HTML page, rendered from the Jinja2 template ``templates/report.html.j2``
with autoescaping: inline CSS, charts as inline SVG (``charts.py``), no scripts, no network references."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from feedbackml.labels import BARRIERS, SENTIMENTS
from feedbackml.report.charts import COLORS, CSS, NAMES, pct, svg_bars, svg_stacked, svg_trend
from feedbackml.report.view import CHANGE_ALPHA, METRICS


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
    return found


def render_html(view: dict[str, Any]) -> str:
    """The whole report page."""
    css = Markup(CSS)  # noqa: S704 - a constant of this module, no user data
    return environment().get_template("report.html.j2").render(view=view, charts=charts(view), css=css)
