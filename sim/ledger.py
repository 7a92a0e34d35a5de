"""The ledger: every money flow booked per day into its month, per line and per mechanic.

Kinds of line:
  revenue  gross sales at list price (the customer-facing value of goods)
  income   other money in (subscription fees, breakage released, ...)
  cost     money out or value given away (cost of goods, discounts, rewards at
           their cost to the business, delivery given free, bonuses, campaigns,
           service, fixed running cost, acquisition, change in points liability)

profit = revenue + income - costs, and nothing else: every number a report shows
comes out of these lines; a test recomputes profit from the orders themselves.
Points follow IFRS 15: part of each sale that earns points is deferred
(``points.revenue_deferred``, negative revenue) and recognised when the points
are redeemed or expire (``points.revenue_released``); profit without those two
lines is the cash view.
"""
from __future__ import annotations

import numpy as np

BASE = "base"  # lines that exist without any programme (cost of goods, acquisition)
KINDS = ("revenue", "income", "cost")
# IFRS 15 lines: revenue deferred on points earned, and released when they are redeemed or
# expire; profit without them is the cash view
DEFERRAL = ("revenue_deferred", "revenue_released")
# the lines the engine books itself (every mechanic declares its own: Mechanic.LEDGER)
LABELS = {
    "base.sales": "Sales at list price",
    "base.cost_of_goods": "Cost of goods sold",
    "base.acquisition": "Paid acquisition of new customers",
    "programme.setup": "Launch cost (set-up)",
    "programme.fixed_running": "Running cost (platform, CRM staff)",
}


def line_labels(mechanics=None) -> dict:
    """Every ledger line's label, 'mechanic.line' -> text: the engine's own and each mechanic's
    declaration (all registered mechanics when none are given)."""
    if mechanics is None:
        from sim.mechanics import MECHANICS
        mechanics = MECHANICS.values()
    out = dict(LABELS)
    for m in mechanics:
        out.update({f"{m.name}.{line}": label for line, label in m.LEDGER.items()})
    return out


class Ledger:
    def __init__(self, n_months: int):
        self.n_months = n_months
        self.lines: dict[tuple[str, str], np.ndarray] = {}
        self.kinds: dict[tuple[str, str], str] = {}
        self.month = 0

    def open_line(self, mechanic: str, line: str, kind: str):
        key = (mechanic, line)
        if key not in self.lines:
            if kind not in KINDS:
                raise ValueError(kind)
            self.lines[key] = np.zeros(self.n_months)
            self.kinds[key] = kind
        return key

    def book(self, mechanic: str, line: str, amount: float, kind: str = "cost"):
        """Add an amount to this month's line (money units, float64)."""
        key = (mechanic, line)
        arr = self.lines.get(key)
        if arr is None:
            self.open_line(mechanic, line, kind)
            arr = self.lines[key]
        if 0 <= self.month < self.n_months:
            arr[self.month] += float(amount)

    # ------------------------------------------------------------------ reading
    def total(self, kind=None, mechanic=None, exclude_base=False) -> np.ndarray:
        out = np.zeros(self.n_months)
        for key, arr in self.lines.items():
            if kind is not None and self.kinds[key] != kind:
                continue
            if mechanic is not None and key[0] != mechanic:
                continue
            if exclude_base and key[0] == BASE:
                continue
            out += arr
        return out

    def profit(self) -> np.ndarray:
        return self.total("revenue") + self.total("income") - self.total("cost")

    def programme_cost(self) -> np.ndarray:
        """Costs the programme adds: every cost line of a mechanic (not the base)."""
        return self.total("cost", exclude_base=True)

    def deferral(self) -> np.ndarray:
        """The IFRS 15 points deferral, net, per month (negative while points accumulate)."""
        out = np.zeros(self.n_months)
        for key, arr in self.lines.items():
            if key[1] in DEFERRAL:
                out += arr
        return out

    def programme_income(self) -> np.ndarray:
        return self.total("income", exclude_base=True)

    def as_columns(self) -> dict[str, np.ndarray]:
        """One column per line, named kind:mechanic.line (for the monthly series)."""
        return {f"{self.kinds[k]}:{k[0]}.{k[1]}": v for k, v in sorted(self.lines.items())}
