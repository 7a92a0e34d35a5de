"""Goal promotions: spend (or buy) a set amount within a window, get a reward.

The promotion. On ``start_day`` of the horizon every eligible customer (present
and still a customer; with ``who: members``, a member of the programme) is set a
goal for the next ``window_days``: a fixed amount (``target.mode: absolute``,
the supermarket's "spend 400 in eight weeks, get a turkey", Taylor & Neslin
2005), or their own purchases in the same number of days before the start,
raised by ``target.stretch`` (``relative``: "increase your nights by a set
percentage over your baseline", Wang, Lewis, Cryder & Sprigg 2016; a customer
with nothing in that pre-period is not set a goal). ``measure`` says what
counts: the list value of orders (``spend``) or their number (``orders``). A
customer who reaches the goal within the window earns ``reward_value``, once.

Behaviour, sized by what the reward is worth to the customer (the value form of
``sim.mechanics.value``: the reward over the spend the goal takes, discounted
for the days the customer's own buying takes to reach it, weighted by their
price sensitivity), each default at a 10% reward received at once:

* goal gradient: in the window, purchase intensity x (1 + g x progress), g =
  goal_gradient x f(v), progress = the share of the goal reached: customers buy
  faster as the goal nears (Kivetz, Urminsky & Zheng 2006); once it is reached
  the push stops. Unlike a stamp card's gradient (``sim.mechanics.points``),
  which repeats card after card and is normalised to move purchases without
  adding any, a one-off goal's push adds purchases in the window.
* after the window, for ``after_days``: customers who reached the goal buy more,
  intensity x (1 + after_success x f(v)), and those who failed buy less,
  intensity x (1 - after_failure x f(v)) (Wang et al. 2016: goal attainment
  raised post-promotion purchasing and goal failure reduced it; the sizes are
  seed assumptions).

Economics: each reward costs its face value (``reward_type: discount``, a
voucher) or its face value x (1 - gross margin) (``product``, goods such as the
turkey), booked when the goal is reached (``goals.rewards``).

The summary reports the customers set a goal, the share who reached it, and each
group's purchases in the window before, during and after the promotion; the
evidence suite (``sim.studies.evidence``) compares them with a control arm run
on the same customers (``tests/test_goals.py``).
"""
from __future__ import annotations

import numpy as np

from sim.errors import ScenarioError
from sim.mechanics.base import Column, Mechanic
from sim.mechanics.value import perceived, response
from sim.schema import Bool, Choice, Effect, Int, NonNeg, Pos, Section

NOT_SET = 0.0  # target of a customer who was not set a goal


class Goals(Mechanic):
    name = "goals"
    LABEL = "Goal promotion"
    INTENSIVE = frozenset({"reached_share"})
    LEDGER = {"rewards": "Goal promotion rewards"}
    SCHEMA = Section(optional=True, doc="goal promotion: reach a spend or purchase goal within a window, get a reward",
                     fields={
        "enabled": Bool(True),
        "start_day": Int(0, lo=0, hi=36500, doc="day of the horizon the promotion starts (0: launch)"),
        "window_days": Int(56, lo=1, hi=3650, doc="how long customers have to reach the goal, days "
                                                   "(Taylor & Neslin 2005: eight weeks)"),
        "measure": Choice(("spend", "orders"), "spend", "what counts toward the goal: list value of orders, or orders"),
        "target": Section(doc="the goal each customer is set", fields={
            "mode": Choice(("absolute", "relative"), "absolute",
                           "absolute: the same amount for everyone; relative: the customer's own amount in the "
                           "window_days before the start, raised by stretch"),
            "amount": Pos(400.0, "absolute: the goal, in currency (measure spend) or orders"),
            "stretch": NonNeg(0.2, "relative: the goal is the pre-period's amount x (1 + stretch)", hi=100.0),
        }),
        "who": Choice(("everyone", "members"), "everyone",
                      "everyone: every customer still buying; members: the programme's members only"),
        "reward_value": Pos(20.0, "face value of the reward for reaching the goal, currency"),
        "reward_type": Choice(("discount", "product"), "product",
                              "discount: a voucher (costs its face value); product: goods (face x (1 - margin))"),
        "behaviour": Section(doc="sizes at the reference value (a 10% reward received at once); each scales with f(v)",
                             fields={
            "goal_gradient": Effect(0.8, 0.5, 1.2, grade="measured",
                                    source="Kivetz, Urminsky & Zheng 2006: ~20% shorter intervals from the first to "
                                    "the last stamp of a coffee card (the points mechanic's size, which reproduces "
                                    "it); range: their estimate's uncertainty and card designs",
                                    doc="intensity gain as the goal nears, at the goal, x f(v)"),
            "after_success": Effect(0.10, 0.0, 0.25, grade="direction",
                                    source="Wang, Lewis, Cryder & Sprigg 2016: goal attainment significantly "
                                    "increased post-promotion purchasing (size a seed assumption)",
                                    doc="intensity gain after the window for customers who reached the goal, x f(v)"),
            "after_failure": Effect(0.10, 0.0, 0.25, hi=1.0, grade="direction",
                                    source="Wang, Lewis, Cryder & Sprigg 2016: goal failure significantly reduced "
                                    "post-promotion purchasing (size a seed assumption)",
                                    doc="intensity loss after the window for customers who missed the goal, x f(v)"),
            "after_days": Int(240, lo=0, hi=3650, grade="assumption",
                              doc="how long the after-effects last, days (seed assumption; Wang et al. 2016 "
                                  "observed eight months after the promotion)"),
        }),
    })
    uses = ("enrolment",)      # who: members
    after = ("enrolment", "discounts", "subscription", "tiers", "points")  # counts what customers buy at list value
    FACTORS = ("intensity",)
    COLUMNS = (
        Column("target", np.float32, NOT_SET, doc="the customer's goal (0: not set one)"),
        Column("pre", np.float32, 0.0, doc="amount in the window_days before the start"),
        Column("during", np.float32, 0.0, doc="amount in the window"),
        Column("post", np.float32, 0.0, doc="amount in the window_days after it"),
        Column("reached", np.bool_, False),
        Column("value", np.float32, 0.0, doc="f(v) of the customer's reward"),
    )

    @classmethod
    def validate(cls, cfg, scenario_cfg, path, file):
        if cfg.target.mode == "relative" and cfg.start_day < cfg.window_days:
            raise ScenarioError(file, f"{path}.start_day", f"got {cfg.start_day}; a relative goal is set from the "
                                f"customer's own purchases in the {cfg.window_days} days before the start, which "
                                "must lie in the horizon: start_day >= window_days")
        from sim.mechanics.enrolment import Enrolment
        if cfg.who == "members" and not Enrolment.active(scenario_cfg.programme or {}):
            raise ScenarioError(file, f"{path}.who", "members: this programme has nothing to join (no points or "
                                "tiers block, which bring the enrolment mechanic); set who: everyone, or add one")

    def __init__(self, config, model):
        super().__init__(config, model)
        self.start = config.start_day
        self.end = config.start_day + config.window_days
        self.after_end = self.end + config.behaviour.after_days
        cost = 1.0 if config.reward_type == "discount" else 1.0 - self.economics.gross_margin
        self.reward_cost = config.reward_value * cost
        self.monthly = {k: np.zeros(model.n_months) for k in ("goals_reached", "goal_rewards")}
        self._set = 0

    # ------------------------------------------------------------------ helpers
    def _amount(self, orders):
        return orders.gross if self.config.measure == "spend" else np.ones(len(orders))

    def _progress_factor(self, idx):
        prog = np.minimum(self.during[idx] / np.maximum(self.target[idx], 1e-9), 1.0)
        g = self.config.behaviour.goal_gradient * self.value[idx]
        return np.where(self.reached[idx], 1.0, 1.0 + g * prog)

    def _set_goals(self):
        c = self.customers
        n = c.n
        who = c.present[:n] & c.alive[:n]
        if self.config.who == "members" and self.enrolment is not None:
            who &= self.enrolment.member[:n]
        t = self.config.target
        if t.mode == "relative":
            target = self.pre[:n] * (1.0 + t.stretch)
            who &= target > 0
        else:
            target = np.full(n, t.amount, dtype=np.float64)
        idx = np.flatnonzero(who)
        self.target[idx] = target[idx]
        basket = c.mean_order_value(idx).astype(np.float64)
        spend_needed = self.target[idx] * (1.0 if self.config.measure == "spend" else basket)
        per_day = np.maximum(c.lam[idx] * (basket if self.config.measure == "spend" else 1.0), 1e-12)
        days = np.minimum(self.target[idx] / per_day, self.config.window_days)
        v = perceived(self.config.reward_value / np.maximum(spend_needed, 1e-9), days, c.responsiveness[idx],
                      self.delay_half_days)
        self.value[idx] = response(v, self.value_half)
        self._set = int(idx.size)
        self.intensity[idx] = self._progress_factor(idx)
        self.changed(idx)

    # ------------------------------------------------------------------ hooks
    def start_day(self, day):
        if day == self.start:
            self._set_goals()
        elif day == self.end or day == self.after_end:
            n = self.customers.n
            idx = np.flatnonzero(self.target[:n] > NOT_SET)
            if day == self.after_end:
                self.intensity[idx] = 1.0
            else:
                b = self.config.behaviour
                f = self.value[idx]
                self.intensity[idx] = np.where(self.reached[idx], 1.0 + b.after_success * f,
                                               np.maximum(1.0 - b.after_failure * f, 0.0))
            self.changed(idx)

    def after_orders(self, orders):
        day = orders.day
        if day < self.start - self.config.window_days or day >= self.end + self.config.window_days:
            return
        idx = orders.idx
        amount = self._amount(orders)
        if day < self.start:
            self.pre[idx] += amount
            return
        if day >= self.end:
            self.post[idx] += amount
            return
        self.during[idx] += amount
        goal = self.target[idx] > NOT_SET
        if not goal.any():
            return
        g = idx[goal]
        newly = ~self.reached[g] & (self.during[g] >= self.target[g])
        if newly.any():
            done = g[newly]
            self.reached[done] = True
            self.book("rewards", self.reward_cost * done.size)
            mo = max(self.ledger.month, 0)
            self.monthly["goals_reached"][mo] += done.size
            self.monthly["goal_rewards"][mo] += self.reward_cost * done.size
        self.intensity[g] = self._progress_factor(g)
        self.changed(g)

    # ------------------------------------------------------------------ results
    def series(self):
        return dict(self.monthly)

    def summary(self):
        n = self.customers.n
        has = self.target[:n] > NOT_SET
        won = has & self.reached[:n]
        lost = has & ~self.reached[:n]

        def total(col, mask):
            return float(col[:n][mask].sum())
        return {
            "customers_set_a_goal": float(has.sum()),
            "goals_reached": float(won.sum()),
            "reached_share": float(won.sum() / has.sum()) if has.any() else float("nan"),
            "reward_cost": float(self.monthly["goal_rewards"].sum()),
            "reached": {"before": total(self.pre, won), "during": total(self.during, won), "after": total(self.post, won)},
            "missed": {"before": total(self.pre, lost), "during": total(self.during, lost),
                       "after": total(self.post, lost)},
        }
