"""The statistics page's figures, drawn locally as SVG (pygal) and written as CSV.

Only counts reach a chart: reports per week, by region, by form of violence, by language, and the
share of reports made while not safe. Labels are the flows' own option labels; a value the flows
do not know is counted under "other", so no text a sender wrote can reach a chart.

pygal: pure Python, no numpy, SVG is its native output, maintained. Its SVG carries an inline
script (its tooltips' settings); it is removed, and the charts are served as images, which run
no script anyway.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pygal
from pygal.style import Style

from caseworker.desk.casebook import Case, week_of
from caseworker.desk.labels import LANGUAGE_NAMES, Labels
from flows.catalog import N_

# pygal appends an old-style import hook for its map plugins (pygal.maps.*, unused here) to
# sys.meta_path; without find_spec it makes every later import warn. Take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

CHARTS = ("weeks", "regions", "forms", "languages", "safety")
OTHER = "other"
NONE = "none"
# pygal's inline settings script and its comments (its homepage, the day it drew): not wanted.
_SCRIPT = re.compile(rb"<script.*?</script>|<!--.*?-->", re.S)
_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222",
    foreground_strong="#111",
    foreground_subtle="#555",
    colors=("#3b5b92", "#b5473a", "#4f8a5b", "#c48a2c", "#6d5a96", "#888888"),
    font_family="system-ui, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    title_font_size=16,
    value_font_size=12,
)
TITLES = {
    "weeks": N_("desk.stats.weeks"),
    "regions": N_("desk.stats.regions"),
    "forms": N_("desk.stats.forms"),
    "languages": N_("desk.stats.languages"),
    "safety": N_("desk.stats.safety"),
}
NOT_SAFE = N_("desk.stats.not_safe")
SAFE_OR_UNSAID = N_("desk.stats.safe_or_unsaid")
OTHER_LABEL = N_("desk.stats.other")
NONE_LABEL = N_("desk.stats.none")


@dataclass(slots=True)
class Figures:
    """The counts behind the charts."""

    total: int = 0
    weeks: Counter[str] = field(default_factory=Counter)
    regions: Counter[str] = field(default_factory=Counter)
    forms: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    not_safe: int = 0


def figures(cases: Iterable[Case], labels: Labels) -> Figures:
    """Count `cases` (values the flows do not know count as "other")."""
    known_regions = set(labels.by_name["region"].options) if "region" in labels.by_name else set()
    known_forms = set(labels.by_name["forms"].options) if "forms" in labels.by_name else set()
    found = Figures()
    for case in cases:
        found.total += 1
        found.weeks[week_of(case.report.received_day)] += 1
        regions = case.values("region")
        found.regions[_known(regions[0] if regions else NONE, known_regions)] += 1
        for form in case.values("forms") or [NONE]:
            found.forms[_known(form, known_forms)] += 1
        language = case.report.language
        found.languages[language if language in LANGUAGE_NAMES else OTHER] += 1
        found.not_safe += case.not_safe
    return found


def _known(value: str, known: set[str]) -> str:
    return value if value in known or value == NONE else OTHER


def _label(labels: Labels, lang: str, field_name: str, value: str) -> str:
    if value == OTHER:
        return labels.text(lang, OTHER_LABEL)
    if value == NONE:
        return labels.text(lang, NONE_LABEL)
    if field_name == "language":
        return labels.text(lang, LANGUAGE_NAMES[value])
    return labels.option(lang, field_name, value)


def rows(found: Figures, labels: Labels, lang: str, chart: str) -> list[tuple[str, int]]:
    """(label, count) rows of one chart, in the order it shows them."""
    if chart == "weeks":
        return sorted(found.weeks.items())
    if chart == "safety":
        return [
            (labels.text(lang, NOT_SAFE), found.not_safe),
            (labels.text(lang, SAFE_OR_UNSAID), found.total - found.not_safe),
        ]
    counter, field_name = {
        "regions": (found.regions, "region"),
        "forms": (found.forms, "forms"),
        "languages": (found.languages, "language"),
    }[chart]
    return [(_label(labels, lang, field_name, v), n) for v, n in counter.most_common()]


def svg(found: Figures, labels: Labels, lang: str, chart: str) -> bytes:
    """One chart as a self-contained SVG document (no script, no external reference)."""
    data = rows(found, labels, lang, chart)
    common = {
        "js": [],
        "style": _STYLE,
        "width": 760,
        "height": 360,
        "show_legend": chart == "safety",
        "title": labels.text(lang, TITLES[chart]),
        "no_data_text": "0",
        "print_values": True,
        "truncate_label": 28,
        "truncate_legend": -1,
    }
    drawing: pygal.graph.graph.Graph
    if chart == "safety":
        drawing = pygal.Pie(inner_radius=0.45, **common)
        for label, count in data:
            drawing.add(label, count)
    elif chart == "weeks":
        drawing = pygal.Bar(x_label_rotation=30, **common)
        drawing.x_labels = [label for label, _ in data]
        drawing.add("", [count for _, count in data])
    else:
        drawing = pygal.HorizontalBar(**common)
        drawing.x_labels = [label for label, _ in data]
        drawing.add("", [count for _, count in data])
    return _SCRIPT.sub(b"", drawing.render())


def as_csv(found: Figures, labels: Labels, lang: str) -> bytes:
    """Every chart's figures as one CSV (chart, label, count), UTF-8 with a BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["chart", "label", "count"])
    writer.writerow(["total", "", found.total])
    for chart in CHARTS:
        for label, count in rows(found, labels, lang, chart):
            writer.writerow([labels.text(lang, TITLES[chart]), label, count])
    return buffer.getvalue().encode("utf-8-sig")
