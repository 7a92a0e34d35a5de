"""Is a pilot worth running before deciding? Power, the smallest lift it can see, and what it is worth.

    loyalsim pilot FILE --members 2000 --control 2000 --months 6

The pilot a retailer would run: from the same customer base, a treated group
offered the programme and a holdout control, for a few months, compared on
spend per customer (intention to treat: whoever was offered it, member or
not). It is simulated as it would happen, replication after replication: the
treated group's spend comes from the programme arm, the control group's from
the no-programme arm, different customers each (random assignment by the
customer's id). From those:

* the standard error of the pilot's estimate, the minimum detectable lift at
  5% significance and 80% power, and the power to detect the lift the scenario
  itself produces (the share of simulated pilots that find it);
* the expected value of sample information (EVSI): over the uncertainty
  analysis' draws, what deciding after seeing the pilot's estimate is worth,
  by regression of each draw's incremental profit on the estimate the pilot
  would report in that world (its true effect over the pilot's months plus the
  pilot's sampling error; Strong, Brennan & Oakley 2015), against the pilot's
  cost and the cost of deciding months later; for several sizes, so the best
  size shows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim import verdict
from sim.documents import stamp
from sim.errors import UserError
from sim.metrics import clean

DAYS_PER_MONTH = 365.25 / 12.0
Z_ALPHA, Z_POWER = 1.959964, 0.841621  # two-sided 5%, 80% power


def pilot_scenario(scenario, members, control, months):
    if members < 10 or control < 10:
        raise UserError(f"--members {members} / --control {control}: allowed at least 10 customers in each group")
    if not 1 <= months <= scenario.cfg.horizon_days / DAYS_PER_MONTH + 1e-9:
        raise UserError(f"--months {months}: allowed 1 to the scenario's horizon "
                        f"({scenario.cfg.horizon_days / DAYS_PER_MONTH:.0f} months)")
    return scenario.with_overrides({"customers.initial": int(members + control),
                                    "horizon_days": int(round(months * DAYS_PER_MONTH)),
                                    "customers.acquisition.per_day": 0.0})


def simulate_pilot(args):
    """One simulated pilot (a unit of work): spend per customer over the pilot, treated and control."""
    sc, replication, members = args
    from sim.work import run_models
    models = run_models(sc, {"programme": sc}, replication)
    base, prog = models["baseline"], models["programme"]
    c = prog.customers
    n = sc.cfg.customers.initial
    rows = np.arange(n)
    # random assignment: the customer's id, hashed with the replication, decides the group
    u = prog.streams["pilot.assignment"].uniform(c.uid[rows], np.uint64(replication))
    treated = rows[np.argsort(u)[:members]]
    control = np.setdiff1d(rows, treated)
    spend_t = prog.customers.horizon_spend[treated].astype(np.float64)
    spend_c = base.customers.horizon_spend[control].astype(np.float64)
    true_effect = float((spend_t - base.customers.horizon_spend[treated].astype(np.float64)).mean())
    cost = float(prog.ledger.programme_cost().sum())
    income = float(prog.ledger.programme_income().sum())
    fixed = float(sum(v.sum() for k, v in prog.ledger.lines.items() if k[0] == "programme"))
    # the programme arm gives every one of the n pilot customers the programme (treated and
    # control are then read from the two arms): its variable cost and income are for n customers,
    # and so is its extra gross profit (every customer's spend with it against without it)
    extra_sales = float((prog.customers.horizon_spend[rows].astype(np.float64)
                         - base.customers.horizon_spend[rows].astype(np.float64)).mean())
    return {"mean_t": float(spend_t.mean()), "var_t": float(spend_t.var(ddof=1)), "n_t": int(treated.size),
            "mean_c": float(spend_c.mean()), "var_c": float(spend_c.var(ddof=1)), "n_c": int(control.size),
            "true_effect": true_effect, "variable_cost_per_customer": (cost - fixed) / n,
            "income_per_customer": income / n,
            "extra_gross_profit_per_customer": extra_sales * sc.cfg.economics.gross_margin}


@dataclass
class PilotResult:
    members: int
    control: int
    months: int
    runs: list
    currency: str
    psa: object = None
    evsi_by_size: list = None
    cost: float = 0.0
    waiting_cost: float = 0.0
    cost_lines: dict | None = None

    @property
    def se(self) -> float:
        return float(np.mean([math.sqrt(r["var_t"] / r["n_t"] + r["var_c"] / r["n_c"]) for r in self.runs]))

    @property
    def control_mean(self) -> float:
        return float(np.mean([r["mean_c"] for r in self.runs]))

    def power(self) -> float:
        """Share of simulated pilots whose estimate is significant at 5% (two-sided)."""
        def significant(r):
            se = math.sqrt(r["var_t"] / r["n_t"] + r["var_c"] / r["n_c"])
            diff = r["mean_t"] - r["mean_c"]
            return diff > 0 and (diff > Z_ALPHA * se if se > 0 else True)
        hits = [significant(r) for r in self.runs]
        return float(np.mean(hits))

    def summary(self) -> dict:
        se = self.se
        mde = (Z_ALPHA + Z_POWER) * se
        effect = float(np.mean([r["true_effect"] for r in self.runs]))
        doc = {
            "members": self.members, "control": self.control, "months": self.months, "replications": len(self.runs),
            "currency": self.currency,
            "outcome": "spend per customer over the pilot, treated vs control (intention to treat)",
            "control_spend_per_customer": self.control_mean,
            "standard_error": se,
            "minimum_detectable_lift": mde,
            "minimum_detectable_lift_relative": mde / self.control_mean if self.control_mean else None,
            "scenario_lift": effect,
            "scenario_lift_relative": effect / self.control_mean if self.control_mean else None,
            "power_at_scenario_lift": self.power(),
            "power_normal_approximation": float(_norm_cdf(effect / se - Z_ALPHA)) if se > 0 else None,
        }
        if self.psa is not None:
            psa_doc = self.psa.summary()
            doc["evpi"] = psa_doc["evpi"]
            doc["pilot_cost"] = self.cost
            doc["pilot_cost_lines"] = self.cost_lines
            doc["pilot_cost_basis"] = ("set-up and running cost for the pilot's months, plus the rewards and "
                                       "benefits the treated customers receive, less what they bring back while it "
                                       "runs (gross profit on their extra sales and any fees): net of the pilot's "
                                       "own income")
            doc["cost_of_waiting"] = self.waiting_cost
            doc["sizes"] = self.evsi_by_size
            here = next(s for s in self.evsi_by_size if s.get("asked"))
            doc["evsi"] = here["evsi"]
            doc["net_value"] = here["net_value"]
            best = max(self.evsi_by_size, key=lambda s: s["net_value"])
            doc["best_size"] = best
            doc["worth_running"] = here["net_value"] > 0
            doc["probability_pays_now"] = psa_doc["strategies"][self.psa.strategies[0]]["probability_pays"]
        doc = stamp("pilot", doc)
        doc["verdict"] = verdict.of_pilot(clean(doc)).as_dict()
        return doc


def _norm_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def run_pilot(scenario, members, control, months, replications=20, draws=None, psa_replications=None, *, evsi=True,
              workers=None, backend=None, scheduler=None, store=None, progress=None) -> PilotResult:
    from sim.executors import make_executor
    sc = pilot_scenario(scenario, members, control, months)
    items = [(sc, r, members) for r in range(replications)]
    done = {}
    with make_executor(backend, workers, scheduler, items=len(items)) as ex:
        for i, res in ex.map(simulate_pilot, items):
            done[i] = res
            if progress:
                progress(len(done), len(items))
    runs = [done[i] for i in sorted(done)]  # in replication order, whatever order they finished in
    result = PilotResult(members, control, months, runs, scenario.cfg.economics.currency)
    if not evsi:
        return result
    from sim.studies.psa import run_psa
    psa = run_psa([scenario], draws, psa_replications, tornado=False, workers=workers, backend=backend,
                  scheduler=scheduler, store=store)
    result.psa = psa
    add_evsi(result, scenario)
    return result


def add_evsi(result: PilotResult, scenario, sizes=(0.25, 0.5, 1.0, 2.0, 4.0), seed=7):
    """EVSI of the pilot at several sizes (members and control scaled together), net of its cost."""
    from sim.studies.voi import evsi as evsi_of
    psa = result.psa
    k = result.months
    cum_rev = _cumulative_revenue_lift(psa)
    # the PSA's lift is over the launch base and the customers acquired since; the pilot's cohort
    # is closed (no acquisition), so the lift is spread over everyone present by month k
    acquired = scenario.cfg.customers.acquisition.per_day * k * DAYS_PER_MONTH
    per_customer = cum_rev[:, min(k, cum_rev.shape[1]) - 1] / (scenario.cfg.customers.initial + acquired)
    nb = psa.net_benefits()
    runs = result.runs
    var_t = float(np.mean([r["var_t"] for r in runs]))
    var_c = float(np.mean([r["var_c"] for r in runs]))
    noise = np.random.default_rng(seed).standard_normal(per_customer.size)
    # what running the pilot costs: the set-up and the running cost for those months, the
    # programme's variable cost for the treated customers (rewards, discounts, perks: scaled from
    # the simulated pilots), less what the treated customers bring back while it runs (the gross
    # profit on their extra sales and any fees they pay): the pilot's own income is netted
    eco = scenario.cfg.economics
    variable_per_member = float(np.mean([r["variable_cost_per_customer"] for r in runs]))
    income_per_member = float(np.mean([r["income_per_customer"] for r in runs]))
    gross_per_member = float(np.mean([r["extra_gross_profit_per_customer"] for r in runs]))
    # deciding k months later forgoes k months of the programme's profit when launching is right
    horizon_months = scenario.cfg.horizon_days / DAYS_PER_MONTH
    result.waiting_cost = max(float(nb[:, 1].mean()), 0.0) * k / horizon_months
    rows = []
    for f in sizes:
        n_t = max(int(round(result.members * f)), 10)
        n_c = max(int(round(result.control * f)), 10)
        if f != 1.0 and n_t + n_c > scenario.cfg.customers.initial:
            continue  # a pilot larger than the customer base it is drawn from
        se = math.sqrt(var_t / n_t + var_c / n_c)
        statistic = per_customer + noise * se
        value = evsi_of(nb, statistic)
        lines = {"setup": float(eco.programme_setup_cost),
                 "running": float(eco.programme_fixed_cost_per_month * k),
                 "rewards_and_benefits": variable_per_member * n_t,
                 "fees_from_pilot_members": -income_per_member * n_t,
                 "gross_profit_on_extra_sales": -gross_per_member * n_t}
        cost = float(sum(lines.values()))
        rows.append({"members": n_t, "control": n_c, "standard_error": se, "evsi": value, "cost": cost,
                     "cost_lines": lines, "net_value": value - cost - result.waiting_cost, "asked": f == 1.0})
    result.evsi_by_size = rows
    result.cost = next(r["cost"] for r in rows if r["asked"])
    result.cost_lines = next(r["cost_lines"] for r in rows if r["asked"])


def _cumulative_revenue_lift(psa) -> np.ndarray:
    """draws x months: cumulative revenue lift of the (first) strategy, from the PSA's records."""
    return psa.cumulative_revenue[:, 0, :]
