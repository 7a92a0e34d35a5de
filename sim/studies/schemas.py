"""The scenario's study blocks (``uncertainty``, ``sweep``, ``optimise``): their schema sections.

They live here, apart from the studies' code, because both sides need them: the scenario
schema (``sim.scenario``) validates every block of a scenario file, and each study reads
its own block. This module imports only the schema, so the scenario can import it without
importing the studies (which import the scenario and the run layer).
"""
from __future__ import annotations

from dataclasses import dataclass

from sim.schema import Bool, Choice, Int, Num, Raw, Section

# --------------------------------------------------------------------------- uncertainty (sim.studies.priors)

PRIORS = Section(optional=True, doc="uncertainty over assumptions, for loyalsim psa", fields={
    "draws": Int(200, lo=2, hi=100000, doc="parameter sets the PSA draws"),
    "replications": Int(4, lo=1, hi=1000, doc="replication seeds the draws cycle over"),
    "defaults": Bool(True, "add every behavioural default's evidence range as a triangular prior"),
    "parameters": Section(open_keys=True, doc="field path: {dist: ..., ...}"),
    "groups": Section(open_keys=True, doc="group name: [field paths], for the value of partial information"),
    "correlation": Raw("a list of [field, field, rho]: a Gaussian copula between parameters"),
})


# --------------------------------------------------------------------------- sweep (sim.studies.sweep)

DESIGNS = ("grid", "lhs", "sobol", "morris")

SWEEP = Section(optional=True, doc="a parameter sweep, for loyalsim sweep", fields={
    "design": Choice(DESIGNS, "grid", "grid: every combination; lhs: Latin hypercube; sobol: Saltelli sample "
                                      "and Sobol indices; morris: elementary effects"),
    "samples": Int(32, lo=1, hi=100000, doc="lhs: points; sobol: base sample N (N x (2k + 2) points); "
                                            "morris: trajectories (r x (k + 1) points)"),
    "replications": Int(None, lo=1, hi=1000, nullable=True, doc="replications per point (default: the scenario's)"),
    "vary": Section(open_keys=True, doc="field path: 'low:high:n', 'low:high' or a list of values"),
})


# --------------------------------------------------------------------------- optimise (sim.studies.optimise)

STAGE_WIDTH = 1000  # replication seeds of each stage of an optimisation


@dataclass(frozen=True)
class Measure:
    direction: str       # as an objective: maximize or minimize
    kind: str            # money, ratio, points
    label: str


MEASURES = {
    "incremental_profit": Measure("maximize", "money", "incremental profit over the horizon"),
    "npv": Measure("maximize", "money", "net present value of the incremental profit (economics.discount_rate)"),
    "roi": Measure("maximize", "ratio", "return on programme cost (incremental profit / programme cost)"),
    "retention_lift": Measure("maximize", "points", "retention lift (0.01 = 1 point)"),
    "liability_end": Measure("minimize", "money", "points liability at the end of the horizon"),
    "programme_cost": Measure("minimize", "money", "programme cost over the horizon"),
    "programme_cost_per_member": Measure("minimize", "money", "programme cost per member"),
}

OPTIMISE = Section(optional=True, doc="an optimisation of the programme's design, for loyalsim optimise", fields={
    "budget": Int(40, lo=1, hi=100000, doc="designs (trials) to try"),
    "objective": Raw("what to maximise: incremental_profit (default), npv, roi, retention_lift; a list of two "
                     "names for a trade-off (e.g. [incremental_profit, liability_end])"),
    "constraints": Raw("a list of 'name<=value' or 'name>=value' (names: " + ", ".join(MEASURES) + ")"),
    "replications": Int(2, lo=1, hi=STAGE_WIDTH, doc="replications per trial in the search"),
    "batch": Int(4, lo=1, hi=1000, doc="trials proposed at once (the same for any number of workers)"),
    "seed": Int(None, lo=0, nullable=True, doc="the search's seed (default: the scenario's)"),
    "vary": Section(open_keys=True, doc="field path: 'low:high', a list of values, or {low: L, high: H}"),
    "select": Section(doc="the selection among the finalists", fields={
        "finalists": Int(5, lo=1, hi=50, doc="best feasible designs that go to the selection (with no programme)"),
        "indifference": Raw("the indifference zone: an amount in the objective's units, or 'x%' of the "
                            "baseline's profit (default 0.2%)"),
        "confidence": Num(0.95, "probability of selecting the best finalist when it leads the others by at least the "
                          "indifference zone",
                          lo=0.5, hi=0.999),
        "initial": Int(10, lo=2, hi=STAGE_WIDTH, doc="first-stage replications of each finalist"),
        "max_replications": Int(200, lo=2, hi=STAGE_WIDTH, doc="the most replications a finalist gets"),
        "confirm": Int(10, lo=0, hi=STAGE_WIDTH, doc="fresh replications that re-estimate the chosen design"),
    }),
    "robust": Section(doc="robustness to the uncertain assumptions (--robust)", fields={
        "draws": Int(40, lo=2, hi=10000, doc="draws of the uncertain assumptions"),
    }),
})
