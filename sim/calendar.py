"""Days and months. Day 0 is the launch date; history days are negative."""
from __future__ import annotations

import datetime as _dt

import numpy as np


class Calendar:
    def __init__(self, start_date: _dt.date, first_day: int, horizon_days: int):
        self.start_date = start_date
        self.first_day = int(first_day)  # <= 0
        self.horizon_days = int(horizon_days)
        days = np.arange(self.first_day, self.horizon_days + 1)
        base = np.datetime64(start_date, "D")
        dates = base + days.astype("timedelta64[D]")
        months = dates.astype("datetime64[M]")
        launch_month = np.datetime64(start_date, "M")
        self._month = (months - launch_month).astype(np.int64)
        self._dates = dates
        self.n_months = int(self.month_of(self.horizon_days - 1)) + 1  # months touched by the horizon

    def date(self, day: int) -> _dt.date:
        return self._dates[day - self.first_day].astype(_dt.date)

    def month_of(self, day: int) -> int:
        """Months since the launch month (negative in history)."""
        return int(self._month[day - self.first_day])

    def is_month_end(self, day: int) -> bool:
        """The last day of a calendar month, or the last day of the horizon."""
        if day == self.horizon_days - 1:
            return True
        return self._month[day + 1 - self.first_day] != self._month[day - self.first_day]

    def day_of_year(self, day: int) -> int:
        d = self.date(day)
        return d.timetuple().tm_yday

    def days_until_year_end(self, day: int) -> int:
        d = self.date(day)
        return (_dt.date(d.year, 12, 31) - d).days

    def days_until_month_end(self, day: int, months_ahead: int = 0) -> int:
        """Days from ``day`` to the last day of the calendar month ``months_ahead`` after day's month."""
        import calendar as _cal
        d = self.date(day)
        y, m = divmod(d.year * 12 + d.month - 1 + months_ahead, 12)
        return (_dt.date(y, m + 1, _cal.monthrange(y, m + 1)[1]) - d).days

    def day_of(self, date: _dt.date) -> int:
        return (date - self.start_date).days

    def month_label(self, month: int) -> str:
        y, m = divmod(self.start_date.year * 12 + self.start_date.month - 1 + month, 12)
        return f"{y:04d}-{m + 1:02d}"

    def month_share(self, month: int) -> float:
        """Share of a calendar month's days that fall inside the horizon (pro rata costs)."""
        import calendar as _cal
        inside = int(((self._month == month) & (np.arange(self.first_day, self.horizon_days + 1) >= 0)
                      & (np.arange(self.first_day, self.horizon_days + 1) < self.horizon_days)).sum())
        y, m = divmod(self.start_date.year * 12 + self.start_date.month - 1 + month, 12)
        return inside / _cal.monthrange(y, m + 1)[1]
