"""Charts drawn on the server with pygal, served as SVG images.

A page shows a chart as `<img src=... alt=...>` with the same numbers in a table beside it (the
table is what screen readers, printers and people who want the figures read). pygal's SVG
carries its own stylesheet and a tooltip script; as an image its scripts never run, and the
script is dropped anyway. The SVG answer says so in its own Content-Security-Policy (styles
inside the image, nothing else) and is compressed when the browser accepts it: one chart costs
a few kilobytes on a phone.
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Sequence

import pygal
from flask import Response, request
from pygal.style import Style

GREEN, RED, AMBER, BLUE, GREY = "#0b6e4f", "#a4161a", "#8a5a00", "#3a6ea5", "#56656e"


def style(colors: Sequence[str] = (GREEN, BLUE, RED, AMBER, GREY)) -> Style:
    """The site's look (system fonts, its colours); one colour per series, in order."""
    return Style(
        background="white",
        plot_background="white",
        foreground="#1d2a33",
        foreground_strong="#1d2a33",
        foreground_subtle="#dde4e8",
        opacity=".85",
        opacity_hover="1",
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=13,
        title_font_size=15,
        colors=tuple(colors),
    )


COMMON = {
    "js": [],
    "width": 720,
    "height": 320,
    "legend_at_bottom": True,
    "no_prefix": True,
    "disable_xml_declaration": True,
    "truncate_label": -1,
    "truncate_legend": -1,
    "print_values": False,
    # A chart with nothing to draw says 0 (the same in every language) rather than "No data".
    "no_data_text": "0",
}


def _sized(size: tuple[int, int] | None) -> dict:
    if size is None:
        return COMMON
    return {**COMMON, "width": size[0], "height": size[1]}


_SCRIPT = re.compile(r"<script.*?</script>", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)


def _clean(svg: str) -> bytes:
    return _COMMENT.sub("", _SCRIPT.sub("", svg)).encode()


def _counts_axis(series: Sequence[tuple[str, Sequence[float | None]]]) -> list[int]:
    """Whole-number labels for an axis of counts (no 0.2 of a referral)."""
    top = max((v for _, values in series for v in values if v is not None), default=0)
    step = max(1, math.ceil(top / 8))
    return list(range(0, int(top) + step + 1, step))


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    colors: Sequence[str] = (GREEN, BLUE, RED, AMBER, GREY),
    size: tuple[int, int] | None = None,
) -> bytes:
    """A line per series of counts over `labels` (days); about eight labels on the axis. A
    missing value (None) is a gap. `size` (width, height) for a chart shown narrower than the
    page, so that its text is not scaled down to nothing."""
    chart = pygal.Line(
        style=style(colors),
        show_dots=len(labels) <= 31,
        dots_size=2,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, len(labels) // 8),
        show_x_guides=False,
        y_labels=_counts_axis(series),
        **_sized(size),
    )
    chart.title = title
    chart.x_labels = list(labels)
    for name, values in series or [("", [])]:  # pygal fails on a chart without any series
        chart.add(name, list(values))
    return _clean(chart.render(is_unicode=True))


# A bar's label is cut to this many characters (ending in "…"); the table beside the chart names
# each in full.
BAR_LABEL_CHARACTERS = 22
_CHARACTER_PX, _LINE_PX = 7, 15  # at the 12 px label size


def _bar_labels(labels: Sequence[str], size: tuple[int, int] | None) -> dict:
    """Labels under the bars that never run into each other: level while each fits the width
    of its bar, else slanted just enough that the slanted lines stand a line apart (upright at
    most), long names cut; with more bars than upright lines fit, every second (third...)
    label only."""
    width = (size or (COMMON["width"], COMMON["height"]))[0]
    # What each bar gets: the plot is about half the image on a phone (the axis, its labels and
    # the margins take the rest), more on a wide chart; the smaller share is assumed.
    room = 0.5 * width / max(1, len(labels))
    longest = min(BAR_LABEL_CHARACTERS, max((len(label) for label in labels), default=0))
    shown = {"truncate_label": BAR_LABEL_CHARACTERS}
    if longest * _CHARACTER_PX <= room:
        return {**shown, "x_label_rotation": 0}
    every = math.ceil(_LINE_PX / room)
    if every > 1:
        shown |= {"x_labels_major_every": every, "show_minor_x_labels": False}
    angle = math.degrees(math.asin(min(1.0, _LINE_PX / (room * every))))
    return {**shown, "x_label_rotation": min(90, 5 * math.ceil(max(angle, 40) / 5))}


def stacked_bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    colors: Sequence[str],
    size: tuple[int, int] | None = None,
) -> bytes:
    """One bar per label made of the series' counts on top of each other (e.g. a program's
    referrals by outcome); `size` as for `line_chart`."""
    series = series or [("", [])]  # pygal fails on a chart without any series
    totals = [sum(v or 0 for v in column) for column in zip(*(v for _, v in series), strict=True)]
    chart = pygal.StackedBar(
        style=style(colors),
        y_labels=_counts_axis([("total", totals)]),
        **{**_sized(size), **_bar_labels(labels, size)},
    )
    chart.title = title
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    return _clean(chart.render(is_unicode=True))


def svg_response(svg: bytes) -> Response:
    """The chart as an image answer (gzip when accepted; its own narrow CSP)."""
    response = Response(svg, mimetype="image/svg+xml")
    if "gzip" in (request.headers.get("Accept-Encoding") or ""):
        response.set_data(gzip.compress(svg, 6, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
