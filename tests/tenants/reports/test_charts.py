"""Bar labels under a chart never run into each other: level ones fit their bar's width,
slanted ones sit far enough apart across their slant, long ones are cut (the table beside the
chart names them in full, and the chart keeps each full name as the label's title)."""

from __future__ import annotations

import itertools
import math
import re

import pytest

from slrt.tenants.reports.charts import BAR_LABEL_CHARACTERS, GREEN, RED, stacked_bar_chart

LABEL = re.compile(
    r'<text x="([\d.]+)" y="[\d.]+" class="(?:major)?"(?: transform="rotate\(([\d.]+) [^"]*")?>'
    r"([^<]*)</text>(?:<title>([^<]*)</title>)?"
)
CHARACTER_WIDTH, LINE_HEIGHT = 7, 14  # px at the charts' 12 px label size (at the least)


def _labels(labels: list[str], size: tuple[int, int] | None) -> list[tuple[float, float, str, str]]:
    svg = stacked_bar_chart(
        "Rujukan per program",
        labels,
        [("a", [1] * len(labels)), ("b", [2] * len(labels))],
        (GREEN, RED),
        size,
    ).decode()
    axis = svg[svg.index('class="axis x') :]
    return [
        (float(x), float(r or 0), shown, full or shown) for x, r, shown, full in LABEL.findall(axis)
    ]


@pytest.mark.parametrize("size", [None, (360, 300)])
@pytest.mark.parametrize(
    "labels",
    [
        ["PKH", "BPNT", "PBI", "RTLH"],
        [
            "Program Keluarga Harapan (PKH)",
            "Bantuan Pangan Non Tunai",
            "Jaminan Kesehatan Nasional PBI",
            "Rehabilitasi Rumah Tidak Layak Huni",
            "Beasiswa",
        ],
        [f"Program daerah nomor {i}" for i in range(12)],
        [f"Program daerah nomor {i}" for i in range(30)],
    ],
)
def test_bar_labels_never_overlap(labels: list[str], size) -> None:
    drawn = _labels(labels, size)
    fulls = [full for *_, full in drawn]
    every = labels.index(fulls[1]) if len(fulls) > 1 else 1
    assert fulls == labels[::every]  # every label, or every second (third...) on a crowded phone
    for (x1, angle, shown, _), (x2, _, _, _) in itertools.pairwise(drawn):
        assert len(shown) <= BAR_LABEL_CHARACTERS
        gap = x2 - x1
        if angle == 0:
            assert len(shown) * CHARACTER_WIDTH <= gap, (shown, gap)
        else:  # slanted lines of text are parallel: what parts them is the gap across them
            assert gap * math.sin(math.radians(angle)) >= LINE_HEIGHT, (shown, gap, angle)


def test_short_labels_stay_level() -> None:
    assert {angle for _, angle, _, _ in _labels(["PKH", "BPNT", "PBI"], None)} == {0}
