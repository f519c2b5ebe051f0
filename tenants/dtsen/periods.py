"""DTSEN periods: the quarter ("2026-Q3") a file or a result belongs to.

DTSEN is refreshed every quarter, so a family's standing is kept per quarter. Periods are
written "YYYY-Qn", which sorts as text in time order (the database compares them as text).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from slrt.platform.errors import Msg

PERIOD_RE = re.compile(r"^(\d{4})-Q([1-4])$")
FIRST_YEAR, LAST_YEAR = 2020, 2100  # DTSEN began in 2025; older DTKS history may be imported


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1-4

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def index(self) -> int:
        return self.year * 4 + self.number - 1

    def shifted(self, quarters: int) -> Quarter:
        index = self.index + quarters
        return Quarter(index // 4, index % 4 + 1)

    @property
    def previous(self) -> Quarter:
        return self.shifted(-1)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> dt.date:
        return self.shifted(1).first_day - dt.timedelta(days=1)

    @classmethod
    def of(cls, day: dt.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, text: str | None) -> Quarter | None:
        match = PERIOD_RE.match((text or "").strip().upper())
        if match is None:
            return None
        year = int(match[1])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            return None
        return cls(year, int(match[2]))


def period_problem(text: str | None, today: dt.date) -> Msg | None:
    """Why `text` is not a period a file can belong to (a quarter that has begun), or None."""
    quarter = Quarter.parse(text)
    if quarter is None:
        return Msg(
            f"Periode '{text}' tidak dikenali; tulis tahun dan triwulan, mis. 2026-Q3.",
            f"Period '{text}' is not recognised; write the year and quarter, e.g. 2026-Q3.",
        )
    if quarter > Quarter.of(today):
        return Msg(
            f"Periode {quarter} belum dimulai.",
            f"Period {quarter} has not begun yet.",
        )
    return None


def quarters_old(period: str, today: dt.date) -> int:
    """How many quarters before today's quarter `period` is (0: this quarter)."""
    quarter = Quarter.parse(period)
    if quarter is None:
        return 0
    return Quarter.of(today).index - quarter.index


def recent_periods(today: dt.date, count: int = 8) -> list[str]:
    """This quarter and the ones before it, newest first (the choices of an upload form)."""
    now = Quarter.of(today)
    return [str(now.shifted(-i)) for i in range(count)]
