"""Find the best programme: a search, a selection with a guarantee, and robustness to what we don't know.

    loyalsim optimise scenarios/points_and_tiers.yaml --budget 40 --out opt/ \\
        --vary programme.points.earn_per_currency=0.05:1 \\
        --vary programme.tiers.levels.1.threshold=2000:5000 \\
        --vary programme.tiers.downgrade=none,one_step \\
        --constraint "liability_end<=300000"

or in the scenario:

    optimise:
      budget: 40
      objective: incremental_profit          # or npv, roi, retention_lift; two names: a trade-off (Pareto front)
      constraints: ["programme_cost_per_member<=40", "retention_lift>=0.01"]
      replications: 2
      vary:
        programme.points.earn_per_currency: "0.05:1"
        programme.tiers.downgrade: [none, one_step]
      select: {finalists: 5, indifference: 50000, confidence: 0.95}

Three steps, each on common random numbers (every design meets the same
customers and chance events, replication by replication):

1. **Search.** Optuna proposes designs within the bounds: TPE for one objective,
   NSGA-II for two (a Pareto front). Each design (a *trial*) runs programme vs no
   programme on ``replications`` replication seeds (0, 1, ...), the same for every
   trial, so the customers' history and the no-programme arm are computed once
   per replication and every trial costs one programme arm per replication
   (sim.studies.plan). Trials are asked and told in batches, so a process pool
   stays busy. Constraints (``name<=value``, ``name>=value`` on the means) mark
   a trial infeasible: the sampler steers away from it and it is never selected.
2. **Selection with a guarantee.** The best few feasible designs (``finalists``)
   and *no programme* (incremental profit exactly 0 on common random numbers)
   go through Kim & Nelson's KN procedure (sim.studies.selection) on fresh
   replications (seeds from 1000 on, never seen by the search): it keeps adding
   replications to the designs still in contention until one is left, and
   guarantees (Kim & Nelson 2001) that if the best finalist leads every other
   by at least the indifference zone, it is the one picked with probability at
   least the confidence; designs closer than that count as equally good. The
   guarantee covers the finalists, not designs the search never tried. The chosen design's profit is
   then re-estimated on further fresh replications (from 2000 on), so the
   number reported is neither the search's best observation nor the selection's
   (both are flattered by having been picked: the winner's curse).
3. **Robustness** (``--robust``): the finalists across draws of the uncertain
   assumptions (sim.studies.priors: the scenario's uncertainty block and every
   behavioural default's evidence range), each finalist's settings applied on
   top of each draw; ranked by expected profit and by the mean of the worst 10%
   of draws (CVaR), so a design that wins only under optimistic assumptions is
   flagged.

Resumable: with ``--out DIR``, Optuna keeps its trials in SQLite (``DIR/optuna.db``)
and every replication is in the result store (``DIR/store``). A killed run,
started again with the same command, completes the batch it was in (its
records are found in the store) and continues; because every proposal is
seeded by the trial's number and the trials told before it, and every
evaluation is a pure function of the design and the replication seed, it ends
with the same trials and the same choice as a run never interrupted. The batch
size is a setting of its own (``--batch``, default 4), not the worker count, so
the trials do not depend on the machine either.

Backends: each batch and each selection stage is one call of run_variants. On the
local process pool (the default) the search's launch bases are built once, in
this process, and inherited by every batch's forked workers. ``--backend dask``
starts a local cluster per call, which is slow for many small batches: use the
process pool, or an existing cluster (``dask://HOST:PORT``).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field

import numpy as np

from sim.errors import Interrupted, ScenarioError, UserError, whole_option
from sim.studies.schemas import MEASURES, STAGE_WIDTH
from sim.studies.sweep import Factor, factor, parse_factor

# Replication seeds of each stage: the selection and the re-estimate never reuse the search's.
SEARCH_FROM, SELECT_FROM, CONFIRM_FROM, ROBUST_FROM = 0, 1000, 2000, 3000
ROBUST_SEEDS = 4            # replication seeds the robustness draws cycle over (as the PSA's)
NO_PROGRAMME = "no programme"


OBJECTIVES = tuple(MEASURES)
DEFAULT_OBJECTIVE = "incremental_profit"
DEFAULT_INDIFFERENCE = {"money": "0.2%", "ratio": 0.05, "points": 0.002}  # money: share of the baseline's profit

# --------------------------------------------------------------------------- measures of one replication

def measures_of(outcome, discount_rate: float) -> dict:
    """Every measure of one design in one replication (programme arm vs its baseline)."""
    p, b = outcome.programme, outcome.baseline
    lift = float(p.metrics["profit"] - b.metrics["profit"])
    monthly = np.asarray(outcome.monthly_incremental_profit(), dtype=float)
    rate_m = (1.0 + discount_rate) ** (1.0 / 12.0) - 1.0
    npv = float((monthly * (1.0 + rate_m) ** -np.arange(1, monthly.size + 1)).sum())
    cost = float(p.metrics["programme_cost"])
    mech = p.mechanics or {}
    members = (mech.get("enrolment") or {}).get("members_end")
    if members is None:
        members = p.metrics.get("active_customers_end")
    members = float(members or 0.0)
    liability = float((mech.get("points") or {}).get("liability_end") or 0.0)
    return {
        "incremental_profit": lift,
        "npv": npv,
        "roi": lift / cost if cost else math.nan,
        "retention_lift": float(p.metrics["retention_rate"] - b.metrics["retention_rate"]),
        "liability_end": liability,
        "programme_cost": cost,
        "programme_cost_per_member": cost / members if members else math.inf,
        "members": members,
        "revenue_lift": float(p.metrics["revenue"] - b.metrics["revenue"]),
        "baseline_profit": float(b.metrics["profit"]),
    }


def no_programme_measures(baseline_profit=math.nan) -> dict:
    return {"incremental_profit": 0.0, "npv": 0.0, "roi": 0.0, "retention_lift": 0.0, "liability_end": 0.0,
            "programme_cost": 0.0, "programme_cost_per_member": 0.0, "members": 0.0, "revenue_lift": 0.0,
            "baseline_profit": baseline_profit}


# --------------------------------------------------------------------------- constraints

@dataclass(frozen=True)
class Constraint:
    measure: str
    op: str          # "<=" or ">="
    value: float

    def violation(self, x) -> float:
        """> 0 when violated (by how much), <= 0 when it holds; undefined values violate."""
        if x is None or math.isnan(x):
            return math.inf
        return x - self.value if self.op == "<=" else self.value - x

    def text(self) -> str:
        return f"{self.measure}{self.op}{self.value:g}"


_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|=<|=>|<|>|==|=)?\s*(.*?)\s*$")


def parse_constraint(text, source="--constraint") -> Constraint:
    m = _CONSTRAINT.match(str(text))
    names = ", ".join(MEASURES)
    if not m or not m.group(2):
        raise UserError(f"{source} {text!r}: expected NAME<=VALUE or NAME>=VALUE (names: {names})")
    name, op, value = m.group(1), m.group(2), m.group(3)
    if name not in MEASURES:
        import difflib
        hint = difflib.get_close_matches(name, MEASURES, n=1)
        raise UserError(f"{source} {text!r}: unknown measure {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                        + f"; allowed: {names}")
    if op not in ("<=", ">="):
        raise UserError(f"{source} {text!r}: the comparison {op!r} is not allowed; allowed: <= or >=")
    try:
        v = float(value.replace("_", ""))
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise UserError(f"{source} {text!r}: {value!r} is not a finite number")
    return Constraint(name, op, v)


# --------------------------------------------------------------------------- the problem

@dataclass
class Problem:
    """What to optimise and how: bounds, objective(s), constraints and the settings of each step."""

    factors: list
    objectives: list = field(default_factory=lambda: [DEFAULT_OBJECTIVE])
    constraints: list = field(default_factory=list)
    budget: int = 40
    replications: int = 2
    batch: int = 4
    seed: int = 1
    finalists: int = 5
    indifference: object = None          # a number (objective units), "x%" of the baseline's profit, or None
    confidence: float = 0.95
    initial: int = 10
    max_replications: int = 200
    confirm: int = 10
    robust_draws: int | None = None       # None: no robustness step
    identity: str = ""                   # what the study's trials depend on (a hash; see study_name)

    @property
    def objective(self) -> str:
        return self.objectives[0]

    @property
    def multi(self) -> bool:
        return len(self.objectives) > 1

    @property
    def directions(self) -> list:
        return [MEASURES[o].direction for o in self.objectives]

    def sign(self, name=None) -> float:
        return 1.0 if MEASURES[name or self.objective].direction == "maximize" else -1.0

    def study_name(self) -> str:
        doc = {"identity": self.identity, "factors": [_factor_doc(f) for f in self.factors],
               "objectives": self.objectives, "constraints": [c.text() for c in self.constraints],
               "replications": self.replications, "batch": self.batch, "seed": self.seed}
        return "loyalsim-optimise-" + hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]

    # Optuna's view of a design ------------------------------------------------
    def distributions(self) -> dict:
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
        out = {}
        for f in self.factors:
            if f.values is not None:
                scalar = all(v is None or isinstance(v, (bool, int, float, str)) for v in f.values)
                out[f.field] = CategoricalDistribution(list(f.values) if scalar else list(range(len(f.values))))
            elif f.integer:
                out[f.field] = IntDistribution(int(math.ceil(f.low)), int(math.floor(f.high)))
            else:
                step = nice_step(f.low, f.high)
                out[f.field] = FloatDistribution(f.low, f.high, step=step) if step else FloatDistribution(f.low, f.high)
        return out

    def design_of(self, params: dict) -> dict:
        """{field: value} of a trial's parameters (categorical values of any shape, floats tidied)."""
        out = {}
        for f in self.factors:
            v = params[f.field]
            if f.values is not None:
                scalar = all(x is None or isinstance(x, (bool, int, float, str)) for x in f.values)
                v = v if scalar else f.values[int(v)]
            elif f.integer:
                v = int(v)
            else:
                v = tidy(v)
            out[f.field] = _plain(v)
        return out


def nice_step(low, high):
    """A round step giving 100 to 1,000 levels over the range (so designs read cleanly), or None."""
    width = float(high) - float(low)
    if not width > 0:
        return None
    step = 10.0 ** (math.floor(math.log10(width)) - 2)
    n = width / step
    if abs(n - round(n)) > 1e-6 * n:  # the range is not a whole number of steps: search it continuously
        return None
    return step


def tidy(v: float) -> float:
    """A float without the last-digit noise of low + k * step."""
    return float(f"{float(v):.12g}")


def _plain(v):
    """Plain Python data (a validated scenario's sections and tuples, numpy scalars)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _factor_doc(f: Factor) -> dict:
    return {"field": f.field, "low": f.low, "high": f.high, "values": f.values, "integer": f.integer}


def _objective_list(value, source) -> list:
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if not names or not all(isinstance(n, str) for n in names):
        raise UserError(f"{source}: got {value!r}; allowed: one of {', '.join(OBJECTIVES)}, or a list of two")
    out = []
    for n in names:
        n = n.strip()
        if n not in MEASURES:
            import difflib
            hint = difflib.get_close_matches(n, OBJECTIVES, n=1)
            raise UserError(f"{source} {n}: unknown objective" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                            + f"; allowed: {', '.join(OBJECTIVES)}")
        if n in out:
            raise UserError(f"{source} {n}: given twice")
        out.append(n)
    if len(out) > 2:
        raise UserError(f"{source}: {len(out)} objectives; allowed: one, or two for a trade-off (a Pareto front)")
    return out


def _indifference(value, source):
    if value is None:
        return None
    if isinstance(value, bool):
        raise UserError(f"{source}: got {value!r}; allowed: a number > 0 or a share such as 0.2%")
    if isinstance(value, (int, float)):
        v = float(value)
    else:
        text = str(value).strip().replace(",", "").replace("_", "")
        if text.endswith("%"):
            try:
                p = float(text[:-1])
            except ValueError:
                p = math.nan
            if not (math.isfinite(p) and 0 < p <= 100):
                raise UserError(f"{source}: got {value!r}; allowed: a share above 0% and at most 100%")
            return f"{p:g}%"
        try:
            v = float(text)
        except ValueError:
            raise UserError(f"{source}: got {value!r}; allowed: a number > 0 (in the objective's units) or a share "
                            "such as 0.2% of the baseline's profit") from None
    if not (math.isfinite(v) and v > 0):
        raise UserError(f"{source}: got {value!r}; allowed: a number > 0")
    return v


def problem_of(scenario, *, vary=(), budget=None, objectives=(), constraints=(), replications=None, batch=None,
               finalists=None, indifference=None, confidence=None, initial=None, max_replications=None,
               confirm=None, robust=False, draws=None, seed=None) -> Problem:
    """The problem from the command line (which wins) and the scenario's ``optimise:`` block."""
    block = scenario.cfg.get("optimise") or {}
    file = scenario.file
    where = f"{file}: optimise"
    sel = block.get("select") or {}
    # what to vary: --vary wins over the block
    if vary:
        factors = [parse_factor(v, "--vary", scenario) for v in vary]
    else:
        factors = [factor(str(k), v, f"{where}.vary.", scenario) for k, v in (block.get("vary") or {}).items()]
    if not factors:
        raise UserError(f"{file}: nothing to vary: give --vary FIELD=LOW:HIGH (or A,B,C) or an optimise: vary: block")
    for f in factors:
        if f.values is not None:
            f.values = [_plain(v) for v in f.values]
    seen = set()
    for f in factors:
        if f.field in seen:
            raise UserError(f"--vary {f.field}: given twice")
        seen.add(f.field)
        check_factor(scenario, f, "--vary" if vary else f"{where}.vary.")
    objs = _objective_list(list(objectives), "--objective") if objectives else \
        _objective_list(block["objective"], f"{where}.objective") if block.get("objective") is not None else \
        [DEFAULT_OBJECTIVE]
    if constraints:
        cons = [parse_constraint(c, "--constraint") for c in constraints]
    else:
        raw = block.get("constraints")
        if raw is None:
            raw = []
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, (list, tuple)):
            raise UserError(f"{where}.constraints: expected a list of 'name<=value' or 'name>=value'")
        cons = [parse_constraint(c, f"{where}.constraints") for c in raw]
    ind = _indifference(indifference, "--indifference") if indifference is not None else \
        _indifference(sel.get("indifference"), f"{where}.select.indifference")
    if ind is not None and isinstance(ind, str) and MEASURES[objs[0]].kind != "money":
        raise UserError(f"--indifference {ind}: a share of the baseline's profit fits money objectives; for "
                        f"{objs[0]} give a number in its units")
    p = Problem(
        factors=factors, objectives=objs, constraints=cons,
        budget=_whole(budget, "--budget", 1, 100000) if budget is not None else block.get("budget", 40),
        replications=_whole(replications, "--replications", 1, STAGE_WIDTH) if replications is not None
        else block.get("replications", 2),
        batch=_whole(batch, "--batch", 1, 1000) if batch is not None else block.get("batch", 4),
        seed=_whole(seed, "--seed", 0, 2**31 - 1) if seed is not None else
        (block.get("seed") if block.get("seed") is not None else int(scenario.cfg.seed)),
        finalists=_whole(finalists, "--finalists", 1, 50) if finalists is not None else sel.get("finalists", 5),
        indifference=ind,
        confidence=_share(confidence, "--confidence") if confidence is not None else sel.get("confidence", 0.95),
        initial=_whole(initial, "--initial", 2, STAGE_WIDTH) if initial is not None else sel.get("initial", 10),
        max_replications=_whole(max_replications, "--max-replications", 2, STAGE_WIDTH)
        if max_replications is not None else sel.get("max_replications", 200),
        confirm=_whole(confirm, "--confirm", 0, STAGE_WIDTH) if confirm is not None else sel.get("confirm", 10),
        robust_draws=(_whole(draws, "--draws", 2, 10000) if draws is not None
                      else (block.get("robust") or {}).get("draws", 40)) if robust else None,
    )
    if p.max_replications < p.initial:
        raise UserError(f"--max-replications {p.max_replications}: allowed at least the first stage's "
                        f"{p.initial} replications (--initial)")
    ident = {"baseline": scenario.baseline_identity(), "programme": scenario.programme_identity(),
             "seed": int(scenario.cfg.seed)}
    p.identity = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()
    return p


_whole = whole_option


def _share(v, option) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.5 <= v <= 0.999:
        raise UserError(f"{option}: got {v!r}; allowed: a probability from 0.5 to 0.999 (e.g. 0.95)")
    return float(v)


def check_factor(scenario, f: Factor, source):
    """The field exists in the scenario and every end of its range (or listed value) validates there."""
    where = f"{source} {f.field}" if source == "--vary" else f"{source}{f.field}"
    missing = object()
    node = scenario.resolved()
    parts = f.field.split(".")
    for i, part in enumerate(parts):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            node = missing
        if node is None and i < len(parts) - 1:   # a section that is off (a value may be null)
            node = missing
        if node is missing:
            break
    if node is missing:
        # let the schema name an unknown key (with its did-you-mean); else the field is in a part that is off
        try:
            scenario.with_overrides({f.field: f.low if f.values is None else f.values[0]})
        except ScenarioError as e:
            if e.field == f.field and "unknown key" in e.problem:
                raise UserError(f"{where}: {e.problem}") from None
        head = ".".join(f.field.split(".")[:2])
        raise UserError(f"{where}: the scenario has no {head} (a part that is off or absent); add it to the scenario "
                        "before optimising its settings")
    if isinstance(node, dict):
        raise UserError(f"{where}: is a section, not a value; vary one of its fields "
                        f"({', '.join(list(node)[:6])}{', ...' if len(node) > 6 else ''})")
    if f.values is None and f.integer and math.ceil(f.low) > math.floor(f.high):
        raise UserError(f"{where}: {f.low:g}:{f.high:g} holds no whole number; the field takes whole numbers")
    ends = f.values if f.values is not None else ([f.low, f.high] if not f.integer
                                                  else [int(math.ceil(f.low)), int(math.floor(f.high))])
    for v in ends:
        try:
            scenario.with_overrides({f.field: v})
        except ScenarioError as e:
            problem = e.problem if e.field == f.field else f"{e.field}: {e.problem}"
            raise UserError(f"{where}: at {v!r}: {problem}") from None


# --------------------------------------------------------------------------- evaluators

class SimulationEvaluator:
    """Designs ({field: value} overrides of one scenario) run on replication seeds, through run_variants."""

    def __init__(self, scenario, *, workers=None, backend=None, scheduler=None, store=None):
        from sim.runner import as_store
        from sim.executors import default_workers
        self.scenario = scenario
        self.workers = workers or default_workers()
        self.backend, self.scheduler = backend, scheduler
        self.store = as_store(store)
        self.discount_rate = float(scenario.cfg.economics.discount_rate)
        self._variants: dict = {}
        self._warm: set = set()

    def variant(self, design: dict):
        key = json.dumps(design, sort_keys=True, default=str)
        if key not in self._variants:
            self._variants[key] = self.scenario.with_overrides(design)
        return self._variants[key]

    def check(self, design: dict) -> str | None:
        """None if the design is a valid scenario, else why not (one line)."""
        try:
            self.variant(design)
        except ScenarioError as e:
            return f"{e.field}: {e.problem}"
        return None

    def evaluate(self, designs: list, replications) -> dict:
        """{(design index, replication): measures}; Interrupted if stopped (what finished is in the store)."""
        reps = list(replications)
        return self.run([self.variant(d) for d in designs], [reps] * len(designs))

    def run(self, variants: list, reps_per_variant: list) -> dict:
        from sim.studies.plan import run_variants
        if not variants:
            return {}
        self._warm_bases(variants, reps_per_variant)
        outcomes, interrupted = run_variants(variants, reps_per_variant, workers=self.workers,
                                             backend=self.backend, scheduler=self.scheduler, store=self.store)
        if interrupted:
            raise Interrupted(interrupted)
        return {k: measures_of(o, self.discount_rate) for k, o in outcomes.items()}

    def evaluate_draws(self, designs: list, draws: int, seed: int) -> tuple[dict, list]:
        """Each design on each of ``draws`` draws of the uncertain assumptions; ({(design, draw): measures}, fields)."""
        from sim.studies.priors import draw_scenarios
        scenarios, values, priors = draw_scenarios(self.scenario, draws, seed)
        variants, reps, where = [], [], []
        for d, sc in enumerate(scenarios):
            for i, design in enumerate(designs):
                try:
                    variants.append(sc.with_overrides(design))
                except ScenarioError:
                    continue  # a draw that makes this design invalid: left out of its row
                reps.append([ROBUST_FROM + d % ROBUST_SEEDS])
                where.append((i, d))
        got = self.run(variants, reps)
        out = {}
        for v, (i, d) in enumerate(where):
            m = got.get((v, ROBUST_FROM + d % ROBUST_SEEDS))
            if m is not None:
                out[(i, d)] = m
        return out, priors.fields

    def _warm_bases(self, variants, reps_per_variant):
        """Compute each replication's launch base and baseline once, here, before the pool forks.

        A process pool starts afresh for every batch, and its workers would each rebuild the
        customers' history of the replications they meet; forked workers inherit this process's
        cache of launch bases (sim.work), so the history is computed once per replication for the
        whole search. Only the search's replications, which every batch reuses (the selection's
        fresh ones are used in one call each, where the workers build them in parallel); only for
        the local process pool (a Dask worker does not share memory); and only when some record
        of the batch is not in the store yet.
        """
        if self.backend not in (None, "process") or self.scheduler or self.workers <= 1:
            return
        from sim.work import Unit, record_key, simulate
        base = self.scenario
        ident = base.baseline_identity()
        need = set()
        for v, reps in zip(variants, reps_per_variant):
            if v.baseline_identity() != ident or v.cfg.seed != base.cfg.seed:
                continue
            for r in reps:
                if r in self._warm or r >= SELECT_FROM:
                    continue
                if self.store is None or not self.store.path(record_key(base, r, v)).exists() \
                        or not self.store.path(record_key(base, r)).exists():
                    need.add(r)
        if len(need) < 1:
            return
        for r in sorted(need):
            simulate(Unit(base, r, (), baseline=True, share=True))
            self._warm.add(r)


# --------------------------------------------------------------------------- the search

def _constraints_func(frozen):
    """Optuna 4's way to pass constraints (5 and later: Trial.set_constraint)."""
    return frozen.user_attrs.get("violations") or [0.0]


def _set_constraints(trial, problem, violations):
    """Each constraint's violation (> 0: broken) on the trial, before it is told."""
    if hasattr(trial, "set_constraint"):
        for c, v in zip(problem.constraints, violations):
            trial.set_constraint(c.text(), v)
    trial.set_user_attr("violations", violations)


def _trial_seed(seed: int, number: int) -> int:
    return int.from_bytes(hashlib.sha256(f"optimise:{seed}:{number}".encode()).digest()[:4], "little")


def _sampler(problem: Problem, number: int):
    """A fresh sampler for trial ``number``, seeded by it: proposals are a function of the seed, the
    trial's number and the trials told before it, never of how many proposals this process made."""
    import optuna
    from optuna.trial import Trial
    cons = _constraints_func if problem.constraints and not hasattr(Trial, "set_constraint") else None
    seed = _trial_seed(problem.seed, number)
    if problem.multi:
        pop = max(4, min(50, problem.budget // 4))
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=pop, constraints_func=cons)
    startup = max(3, min(10, problem.budget // 4))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True, constant_liar=True,
                                      constraints_func=cons)


def open_study(problem: Problem, storage=None):
    import warnings

    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna.create_study(study_name=problem.study_name(), storage=storage, load_if_exists=True,
                               directions=problem.directions, sampler=_sampler(problem, 0))


def search(problem: Problem, evaluator, storage=None, progress=None):
    """Run (or continue) the search until ``budget`` trials are told; returns the Optuna study."""
    from optuna.trial import Trial, TrialState
    study = open_study(problem, storage)
    dists = problem.distributions()
    reps = list(range(SEARCH_FROM, SEARCH_FROM + problem.replications))
    while True:
        trials = study.get_trials(deepcopy=False)
        running = sorted((t for t in trials if t.state == TrialState.RUNNING), key=lambda t: t.number)
        told = sum(1 for t in trials if t.state != TrialState.RUNNING)
        if progress:
            progress(min(told, problem.budget), problem.budget)
        if not running and len(trials) >= problem.budget:
            break
        # the batch: the trials a killed run left running, completed up to the batch size
        start = running[0].number if running else len(trials)
        stop = max(min(start + problem.batch, problem.budget), len(trials))
        while len(study.get_trials(deepcopy=False)) < stop:
            study.sampler = _sampler(problem, len(study.get_trials(deepcopy=False)))
            study.ask(dists)
        batch = sorted((t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING),
                       key=lambda t: t.number)
        designs = [problem.design_of(t.params) for t in batch]
        errors = [evaluator.check(d) for d in designs]
        ok = [i for i, e in enumerate(errors) if e is None]
        got = evaluator.evaluate([designs[i] for i in ok], reps) if ok else {}
        for j, i in enumerate(ok):
            vals = {m: [got[(j, r)][m] for r in reps] for m in got[(j, reps[0])]}
            means = {m: _mean(v) for m, v in vals.items()}
            trial = Trial(study, batch[i]._trial_id)
            trial.set_user_attr("design", designs[i])
            trial.set_user_attr("replications", reps)
            trial.set_user_attr("values", {m: [_json_number(x) for x in v] for m, v in vals.items()})
            if problem.constraints:
                _set_constraints(trial, problem, [_finite_violation(c.violation(means[c.measure]))
                                                  for c in problem.constraints])
            objs = [means[o] for o in problem.objectives]
            if all(math.isfinite(x) for x in objs):
                study.tell(batch[i].number, objs if problem.multi else objs[0])
            else:
                trial.set_user_attr("error", f"{', '.join(problem.objectives)} is not defined for this design")
                study.tell(batch[i].number, state=TrialState.FAIL)
        for i, e in enumerate(errors):
            if e is not None:
                trial = Trial(study, batch[i]._trial_id)
                trial.set_user_attr("design", designs[i])
                trial.set_user_attr("error", e)
                study.tell(batch[i].number, state=TrialState.FAIL)
    return study


def _finite_violation(v: float) -> float:
    return 1e300 if v == math.inf else -1e300 if v == -math.inf else float(v)


def _json_number(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def _mean(values) -> float:
    x = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(x)) if x else math.nan


def trial_rows(problem: Problem, study) -> list:
    """One row per trial: its design, the mean of every measure over its replications, feasibility."""
    from optuna.trial import TrialState
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if t.number >= problem.budget and t.state == TrialState.RUNNING:
            continue
        design = t.user_attrs.get("design") or (problem.design_of(t.params) if t.params else {})
        vals = t.user_attrs.get("values") or {}
        means = {m: _mean([math.nan if x is None else x for x in v]) for m, v in vals.items()}
        state = {TrialState.COMPLETE: "complete", TrialState.FAIL: "failed", TrialState.RUNNING: "running"}.get(
            t.state, t.state.name.lower())
        viol = [c.violation(means.get(c.measure, math.nan)) for c in problem.constraints] if means else []
        feasible = state == "complete" and all(v <= 0 for v in viol)
        rows.append({"trial": t.number, "state": state, "design": design, "means": means, "values": vals,
                     "replications": t.user_attrs.get("replications") or [], "feasible": feasible,
                     "violated": [c.text() for c, v in zip(problem.constraints, viol) if v > 0],
                     "error": t.user_attrs.get("error")})
    return rows


def design_key(design: dict) -> str:
    return json.dumps(design, sort_keys=True, default=str)


def finalists_of(problem: Problem, rows: list, k: int) -> list:
    """The k best distinct feasible designs by the search's mean of the (first) objective."""
    s = problem.sign()
    best: dict = {}
    for r in rows:
        if not r["feasible"]:
            continue
        v = r["means"].get(problem.objective, math.nan)
        if not math.isfinite(v):
            continue
        key = design_key(r["design"])
        if key not in best or s * v > s * best[key]["means"][problem.objective]:
            best[key] = r
    return sorted(best.values(), key=lambda r: (-s * r["means"][problem.objective], r["trial"]))[:k]


def pareto_rows(problem: Problem, rows: list) -> list:
    """Feasible trials no other feasible trial beats on both objectives (distinct designs)."""
    pts, seen = [], set()
    for r in rows:
        key = design_key(r["design"])
        if not r["feasible"] or key in seen:
            continue
        v = [problem.sign(o) * r["means"].get(o, math.nan) for o in problem.objectives]
        if all(math.isfinite(x) for x in v):
            seen.add(key)
            pts.append((v, r))
    front = []
    for v, r in pts:
        if not any(all(a >= b for a, b in zip(w, v)) and any(a > b for a, b in zip(w, v)) for w, _ in pts):
            front.append(r)
    return sorted(front, key=lambda r: -problem.sign() * r["means"][problem.objective])


# --------------------------------------------------------------------------- the whole study

@dataclass
class OptimiseResult:
    problem: Problem
    rows: list                         # trial rows (trial_rows)
    finalists: list                    # trial rows of the finalists (selection order: index = KN design)
    selection: object = None           # KNResult (designs: finalists..., then no programme)
    indifference: float | None = None
    indifference_basis: str = ""
    confirm: dict = field(default_factory=dict)        # label -> {measure: [values]} on the confirm replications
    confirm_replications: list = field(default_factory=list)
    selection_measures: dict = field(default_factory=dict)   # (design, replication) -> measures
    robust: dict | None = None
    pareto: list = field(default_factory=list)
    pareto_confirmed: list = field(default_factory=list)
    baseline_profit: float | None = None
    scenario_name: str = ""
    scenario_file: str = ""
    currency: str = ""
    interrupted: int | None = None

    # ---------------------------------------------------------------- who won
    def labels(self) -> list:
        return unique_labels(self.finalists) + [NO_PROGRAMME]

    def design(self, d) -> dict | None:
        return None if d is None or d >= len(self.finalists) else self.finalists[d]["design"]

    @property
    def chosen(self) -> int | None:
        if self.selection is None:
            return None
        return self.selection.chosen

    @property
    def chosen_design(self) -> dict | None:
        return self.design(self.chosen)

    @property
    def best_programme(self) -> int | None:
        """The chosen design, or when no programme wins, the best programme design in the selection."""
        if self.selection is None:
            return 0 if self.finalists else None
        for d in self.selection.order():
            if d < len(self.finalists):
                return d
        return None

    def estimate(self, d=None) -> dict:
        """The objective of design d (default: the chosen one) on the confirmation replications, which neither
        the search nor the selection saw; without them, on the selection's replications (said so)."""
        p = self.problem
        d = self.chosen if d is None else d
        from sim.metrics import interval
        if d is None:
            return {}
        if d == len(self.finalists):     # no programme: exactly zero on common random numbers
            reps = self.confirm_replications or (self.selection.replications if self.selection else [])
            return {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n": len(reps), "replications": list(reps),
                    "source": "no programme: zero by construction"}
        label = self.labels()[d]
        if label in self.confirm and self.confirm[label].get(p.objective):
            vals = self.confirm[label][p.objective]
            return {**interval(vals), "n": len(vals), "replications": list(self.confirm_replications),
                    "source": "fresh replications after the selection"}
        if self.selection is not None:
            vals = list(self.selection.values[d])
            return {**interval(vals), "n": len(vals), "replications": list(self.selection.replications[:len(vals)]),
                    "source": "the selection's replications (fresh to the search; no confirmation asked)"}
        return {}

    # ---------------------------------------------------------------- the answer
    def summary(self) -> dict:
        p = self.problem
        obj = p.objective
        kind = MEASURES[obj].kind
        complete = [r for r in self.rows if r["state"] == "complete"]
        feasible = [r for r in complete if r["feasible"]]
        s = p.sign()
        best_obs = max(feasible, key=lambda r: s * r["means"][obj]) if feasible else None
        doc = {
            "scenario": self.scenario_name, "file": self.scenario_file, "currency": self.currency,
            "objective": obj, "objectives": p.objectives, "directions": p.directions,
            "objective_kind": kind, "objective_kinds": [MEASURES[o].kind for o in p.objectives],
            "constraints": [c.text() for c in p.constraints],
            "varied": [f.field for f in p.factors], "bounds": [_factor_doc(f) for f in p.factors],
            "sampler": "NSGA-II" if p.multi else "TPE", "seed": p.seed, "budget": p.budget,
            "batch": p.batch,
            "trials": {"told": len([r for r in self.rows if r["state"] != "running"]), "complete": len(complete),
                       "feasible": len(feasible), "infeasible": len(complete) - len(feasible),
                       "failed": len([r for r in self.rows if r["state"] == "failed"])},
            "search_replications": list(range(SEARCH_FROM, SEARCH_FROM + p.replications)),
            "baseline_profit": self.baseline_profit,
        }
        if best_obs is not None:
            doc["search_best"] = {"trial": best_obs["trial"], "design": best_obs["design"],
                                  "observed": best_obs["means"][obj], "replications": best_obs["replications"],
                                  "note": "the best of many noisy trials: flattered by having been picked "
                                          "(the winner's curse); not the reported estimate"}
        if p.multi:
            doc["pareto_front"] = [{"trial": r["trial"], "label": design_label(r["design"]), "design": r["design"],
                                    **{o: r["means"][o] for o in p.objectives}} for r in self.pareto]
            if self.pareto_confirmed:
                doc["pareto_front_confirmed"] = self.pareto_confirmed
                doc["confirm_replications"] = self.confirm_replications
        if self.selection is not None:
            doc.update(self._selection_doc(best_obs))
        if self.robust:
            doc["robust"] = self.robust
        if self.interrupted:
            doc["interrupted"] = True
        from sim import verdict
        from sim.documents import stamp
        from sim.metrics import clean
        doc = stamp("optimise", doc)
        doc["verdict"] = verdict.of_optimise(clean(doc)).as_dict()
        return doc

    def _selection_doc(self, best_obs) -> dict:
        p, kn = self.problem, self.selection
        obj = p.objective
        labels = self.labels()
        chosen = kn.chosen
        runner = kn.runner_up
        fin = []
        for d, label in enumerate(labels):
            iv = kn.interval(d)
            row = {"label": label, "design": self.design(d), "search_observed":
                   self.finalists[d]["means"][obj] if d < len(self.finalists) else 0.0,
                   "trial": self.finalists[d]["trial"] if d < len(self.finalists) else None,
                   "selection_mean": iv["mean"], "ci_low": iv["ci_low"], "ci_high": iv["ci_high"],
                   "replications": kn.n(d), "eliminated_after": kn.eliminated.get(d)}
            fin.append(row)
        est = self.estimate(chosen)
        out = {
            "finalists": fin,
            "selection": {
                "procedure": "KN (Kim & Nelson 2001): fully sequential, indifference zone, common random numbers",
                "designs": len(labels), "indifference": self.indifference, "indifference_basis": self.indifference_basis,
                "confidence": kn.confidence, "first_stage": kn.n0, "max_replications": p.max_replications,
                "replications_used": kn.total_replications(), "stages": kn.stages(),
                "replication_seeds": [kn.replications[0], kn.replications[-1]] if kn.replications else [],
                "stopped": kn.stopped, "survivors": [labels[d] for d in kn.survivors],
                "guarantee": kn.guarantee,
                # KN's guarantee: the best is picked with at least this probability when it
                # leads every other finalist by the indifference zone or more
                "probability_correct_selection": {
                    "guaranteed_at_least": kn.confidence if kn.guarantee else None,
                    "when_the_best_leads_by": self.indifference,
                },
                # on the replications run: paired comparisons of the choice with every other
                "probability_within_indifference": {
                    "empirical_lower_bound": kn.probability_within_delta(),
                },
            },
            "chosen": {
                "label": labels[chosen], "design": self.design(chosen), "no_programme": chosen == len(self.finalists),
                "estimate": est, "measures": self._confirm_means(labels[chosen]),
                "search_observed": self.finalists[chosen]["means"][obj] if chosen < len(self.finalists) else None,
            },
        }
        if chosen < len(self.finalists) and est.get("mean") is not None:
            out["chosen"]["winners_curse"] = self.finalists[chosen]["means"][obj] - est["mean"]
            cm = out["chosen"]["measures"]
            if cm and p.constraints:
                out["chosen"]["constraints_on_fresh_replications"] = {
                    c.text(): c.violation(cm.get(c.measure, math.nan)) <= 0 for c in p.constraints}
        if best_obs is not None:
            d0 = next((d for d, r in enumerate(self.finalists) if r["trial"] == best_obs["trial"]), None)
            if d0 is not None:
                out["search_best_fresh"] = {"label": labels[d0], "observed": best_obs["means"][obj],
                                            "fresh": kn.mean(d0), "fresh_replications": kn.n(d0),
                                            "overstated_by": best_obs["means"][obj] - kn.mean(d0)}
        if runner is not None:
            r_est = self.estimate(runner)
            pair = self._paired_confirm(labels[chosen], labels[runner])
            out["runner_up"] = {"label": labels[runner], "design": self.design(runner),
                                "no_programme": runner == len(self.finalists), "estimate": r_est,
                                "chosen_minus_runner_up": pair or kn.paired(chosen, runner)}
        bp = self.best_programme
        if chosen == len(self.finalists) and bp is not None:
            out["best_programme"] = {"label": labels[bp], "design": self.design(bp), "estimate": self.estimate(bp)}
        return out

    def _confirm_means(self, label) -> dict:
        vals = self.confirm.get(label)
        if not vals:
            return {}
        return {m: _mean(v) for m, v in vals.items()}

    def _paired_confirm(self, a, b) -> dict | None:
        from sim.metrics import interval
        obj = self.problem.objective
        va = self.confirm.get(a, {}).get(obj) if a != NO_PROGRAMME else [0.0] * len(self.confirm_replications)
        vb = self.confirm.get(b, {}).get(obj) if b != NO_PROGRAMME else [0.0] * len(self.confirm_replications)
        if not va or not vb or len(va) != len(vb):
            return None
        return {**interval((np.asarray(va) - np.asarray(vb)).tolist()), "n": len(va),
                "replications": "the confirmation replications"}

    # ---------------------------------------------------------------- tables
    def trials_table(self):
        """One row per trial: the design, the mean of each measure over its replications, feasibility."""
        import pandas as pd
        p = self.problem
        fin = {r["trial"] for r in self.finalists}
        front = {r["trial"] for r in self.pareto}
        rows = []
        for r in self.rows:
            row = {"trial": r["trial"], "state": r["state"],
                   **{f.field: _cell(r["design"].get(f.field)) for f in p.factors},
                   "replications": len(r["replications"]),
                   **{m: r["means"].get(m) for m in MEASURES}, "members": r["means"].get("members"),
                   "feasible": r["feasible"], "violated": "; ".join(r["violated"]) or None,
                   "finalist": r["trial"] in fin, "error": r["error"]}
            if p.multi:
                row["pareto_front"] = r["trial"] in front
            rows.append(row)
        return pd.DataFrame(rows)

    def evaluations_table(self):
        """One row per design x replication of every stage (search, selection, confirm, robust): tidy."""
        import pandas as pd
        rows = []
        for r in self.rows:
            for j, rep in enumerate(r["replications"]):
                rows.append({"stage": "search", "trial": r["trial"], "design": design_label(r["design"]),
                             "replication": rep, "draw": None,
                             **{m: (v[j] if j < len(v) else None) for m, v in r["values"].items()}})
        labels = self.labels()
        for (d, rep), ms in sorted(self.selection_measures.items()):
            rows.append({"stage": "selection", "trial": self.finalists[d]["trial"] if d < len(self.finalists) else None,
                         "design": labels[d], "replication": rep, "draw": None, **ms})
        for label, vals in self.confirm.items():
            for j, rep in enumerate(self.confirm_replications):
                rows.append({"stage": "confirm", "trial": None, "design": label, "replication": rep, "draw": None,
                             **{m: v[j] for m, v in vals.items()}})
        if self.robust:
            for row in self.robust.get("draws", []):
                rows.append({"stage": "robust", "trial": None, **row})
        df = pd.DataFrame(rows)
        keep = ["stage", "trial", "design", "replication", "draw", *MEASURES, "members", "revenue_lift",
                "baseline_profit"]
        return df[[c for c in keep if c in df.columns]] if not df.empty else df

    def report_input(self) -> dict:
        """What reports.html.optimise_sections reads."""
        return {"summary": self.summary(), "trials": self.trials_table()}


def _cell(v):
    return json.dumps(v) if isinstance(v, (list, dict)) else v


def unique_labels(rows: list) -> list:
    """Each trial row's design label, with its trial number where two labels would read the same."""
    labels = [design_label(r["design"]) for r in rows]
    return [f"{lab} (trial {r['trial']})" if labels.count(lab) > 1 else lab for lab, r in zip(labels, rows)]


def design_label(design: dict | None) -> str:
    if design is None:
        return NO_PROGRAMME
    parts = []
    for k, v in design.items():
        name = k.split(".")[-1] if not k.split(".")[-1].isdigit() else ".".join(k.split(".")[-2:])
        if ".levels." in k:
            name = "levels." + ".".join(k.split(".levels.")[1:])
        parts.append(f"{name}={_short(v)}")
    return ", ".join(parts)


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, dict)):
        text = json.dumps(v)
        return text if len(text) <= 40 else text[:37] + "..."
    return str(v)


def resolve_indifference(problem: Problem, baseline_profit) -> tuple[float, str]:
    kind = MEASURES[problem.objective].kind
    ind = problem.indifference if problem.indifference is not None else DEFAULT_INDIFFERENCE[kind]
    if isinstance(ind, str):
        share = float(ind[:-1]) / 100.0
        if baseline_profit is None or not math.isfinite(baseline_profit) or baseline_profit == 0:
            raise UserError(f"--indifference {ind}: the baseline's profit is not known here; give an amount")
        return share * abs(baseline_profit), f"{ind} of the no-programme profit over the horizon"
    return float(ind), "the amount given" if problem.indifference is not None else f"the default for {kind}"


def run_optimise(problem: Problem, evaluator, *, storage=None, progress=None, scenario=None) -> OptimiseResult:
    """The search, the selection and (optionally) the robustness step. ``progress(label)`` may return an
    update(done, total) callable for each step."""
    def bar(label):
        return progress(label) if progress else None

    study = search(problem, evaluator, storage=storage, progress=bar("trials"))
    rows = trial_rows(problem, study)
    res = OptimiseResult(problem, rows, [])
    if scenario is not None:
        res.scenario_name, res.scenario_file = scenario.name, str(scenario.file)
        res.currency = scenario.cfg.economics.currency
    bps = [x for r in rows for x in (r["values"].get("baseline_profit") or []) if x is not None]
    res.baseline_profit = float(np.mean(bps)) if bps else None
    if not any(r["feasible"] for r in rows):
        return res
    if problem.multi:
        res.pareto = pareto_rows(problem, rows)
        res.finalists = res.pareto[:max(problem.finalists, 1) * 2]
        _confirm_front(res, evaluator)
    else:
        res.finalists = finalists_of(problem, rows, problem.finalists)
        _select(res, evaluator, bar("selection"))
        _confirm(res, evaluator)
    if problem.robust_draws:
        _robust(res, evaluator, bar("robustness"))
    return res


def _select(res: OptimiseResult, evaluator, progress=None):
    from sim.studies.selection import kn
    p = res.problem
    designs = [r["design"] for r in res.finalists]
    k = len(designs) + 1      # + no programme
    delta, basis = resolve_indifference(p, res.baseline_profit)
    res.indifference, res.indifference_basis = delta, basis
    obj = p.objective
    reps = list(range(SELECT_FROM, SELECT_FROM + p.max_replications))
    workers = max(1, int(getattr(evaluator, "workers", 1) or 1))

    def lookahead(alive):  # enough replications at a time to keep every worker busy (no programme costs nothing)
        return max(1, math.ceil(workers / max(1, alive - 1)))
    done = {"n": 0}

    def sample_many(ds, rs):
        real = [d for d in ds if d < len(designs)]
        got = evaluator.evaluate([designs[d] for d in real], rs) if real else {}
        out = {}
        for j, d in enumerate(real):
            for r in rs:
                ms = got[(j, r)]
                res.selection_measures[(d, r)] = ms
                out[(d, r)] = ms[obj]
        for d in ds:
            if d >= len(designs):
                for r in rs:
                    out[(d, r)] = 0.0
        done["n"] = max(done["n"], max(reps.index(r) for r in rs) + 1)
        if progress:
            progress(min(done["n"], p.max_replications), p.max_replications)
        return out

    res.selection = kn(k, sample_many=sample_many, delta=delta, alpha=1.0 - p.confidence, n0=p.initial,
                       max_replications=p.max_replications, replications=reps, lookahead=lookahead,
                       maximise=MEASURES[obj].direction == "maximize")
    if progress:
        progress(p.max_replications, p.max_replications)
    kept = {(d, r) for d in range(k) for r in res.selection.replications[:res.selection.n(d)]}
    res.selection_measures = {key: v for key, v in res.selection_measures.items() if key in kept}


def _confirm(res: OptimiseResult, evaluator):
    """The chosen design (and the runner-up) on fresh replications neither the search nor the selection used."""
    p = res.problem
    if p.confirm <= 0 or res.selection is None:
        return
    kn = res.selection
    wanted = []
    for d in (kn.chosen, kn.runner_up, res.best_programme):
        if d is not None and d < len(res.finalists) and d not in wanted:
            wanted.append(d)
    reps = list(range(CONFIRM_FROM, CONFIRM_FROM + p.confirm))
    res.confirm_replications = reps
    if not wanted:
        return
    got = evaluator.evaluate([res.finalists[d]["design"] for d in wanted], reps)
    labels = res.labels()
    for j, d in enumerate(wanted):
        ms = [got[(j, r)] for r in reps]
        res.confirm[labels[d]] = {m: [x[m] for x in ms] for m in ms[0]}


def _confirm_front(res: OptimiseResult, evaluator):
    """Two objectives: the front's designs on fresh replications, and the front they make there."""
    p = res.problem
    n = p.confirm or p.initial
    reps = list(range(CONFIRM_FROM, CONFIRM_FROM + n))
    res.confirm_replications = reps
    designs = [r["design"] for r in res.finalists]
    got = evaluator.evaluate(designs, reps)
    labels = unique_labels(res.finalists)
    rows = []
    for j, d in enumerate(designs):
        ms = [got[(j, r)] for r in reps]
        vals = {m: [x[m] for x in ms] for m in ms[0]}
        res.confirm[labels[j]] = vals
        means = {m: _mean(v) for m, v in vals.items()}
        viol = [c.violation(means.get(c.measure, math.nan)) for c in p.constraints]
        rows.append({"trial": res.finalists[j]["trial"], "design": d, "means": means, "values": {},
                     "replications": reps, "feasible": all(v <= 0 for v in viol), "violated": [], "error": None,
                     "state": "complete"})
    front = pareto_rows(p, rows)
    res.pareto_confirmed = [{"trial": r["trial"], "label": design_label(r["design"]), "design": r["design"],
                             **{o: r["means"][o] for o in p.objectives}} for r in front]


def cvar(values, share=0.10, maximise=True) -> float:
    """The mean of the worst ``share`` of values (at least one)."""
    x = np.sort(np.asarray(values, dtype=float))
    if not maximise:
        x = x[::-1]
    n = max(1, int(math.ceil(share * x.size)))
    return float(x[:n].mean())


def _robust(res: OptimiseResult, evaluator, progress=None):
    p = res.problem
    if not hasattr(evaluator, "evaluate_draws"):
        return
    rows = res.finalists[:p.finalists] if p.multi else res.finalists
    designs = [r["design"] for r in rows]
    if progress:
        progress(0, 1)
    got, fields = evaluator.evaluate_draws(designs, p.robust_draws, p.seed)
    if progress:
        progress(1, 1)
    obj = p.objective
    maximise = MEASURES[obj].direction == "maximize"
    s = 1.0 if maximise else -1.0
    labels = unique_labels(rows) + [NO_PROGRAMME]
    draws = sorted({d for (_, d) in got})
    complete = [d for d in draws if all((i, d) in got for i in range(len(designs)))]
    if not complete:
        return
    mat = np.array([[got[(i, d)][obj] for i in range(len(designs))] + [0.0] for d in complete])  # draws x designs
    best_each = np.argmax(s * mat, axis=1)
    rows = []
    for i, label in enumerate(labels):
        col = mat[:, i]
        rows.append({"label": label, "design": designs[i] if i < len(designs) else None,
                     "expected": float(col.mean()), "cvar10": cvar(col, 0.10, maximise),
                     "p5": float(np.percentile(col, 5)), "p95": float(np.percentile(col, 95)),
                     "probability_best": float((best_each == i).mean()),
                     "probability_pays": float((col > 0).mean()) if i < len(designs) else None})
    by_exp = max(range(len(rows)), key=lambda i: s * rows[i]["expected"])
    by_cvar = max(range(len(rows)), key=lambda i: s * rows[i]["cvar10"])
    for i, r in enumerate(rows):
        r["rank_expected"] = 1 + sorted(range(len(rows)), key=lambda j: -s * rows[j]["expected"]).index(i)
        r["rank_cvar10"] = 1 + sorted(range(len(rows)), key=lambda j: -s * rows[j]["cvar10"]).index(i)
    flags = []
    if by_exp != by_cvar:
        flags.append({"label": labels[by_exp], "flag": "optimistic",
                      "text": f"best in expectation but not in the worst 10% of plausible worlds, where "
                              f"{labels[by_cvar]} does better: it wins only under optimistic assumptions"})
    for r in rows[:-1]:
        if maximise and MEASURES[obj].kind == "money" and r["cvar10"] < 0:
            flags.append({"label": r["label"], "flag": "loses in the downside",
                          "text": "loses money on average in the worst 10% of plausible worlds"})
    chosen_label = res.labels()[res.chosen] if res.selection is not None else None
    res.robust = {
        "draws": [{"design": labels[i], "draw": int(d), "replication": ROBUST_FROM + int(d) % ROBUST_SEEDS,
                   **({m: v for m, v in got[(i, d)].items()} if i < len(designs) else no_programme_measures())}
                  for j, d in enumerate(complete) for i in range(len(labels))],
        "rows": rows, "n_draws": len(complete), "parameters": list(fields),
        "best_in_expectation": labels[by_exp], "best_in_cvar10": labels[by_cvar], "flags": flags,
        "chosen": chosen_label,
        "chosen_is_robust": chosen_label is not None and chosen_label == labels[by_cvar],
        "what_the_spread_includes": "the uncertain assumptions (each draw sets every one from its prior) and "
                                    f"simulation noise ({ROBUST_SEEDS} replication seeds, from {ROBUST_FROM})",
    }


# --------------------------------------------------------------------------- the best design as a scenario

def best_yaml(scenario, design: dict, doc: dict | None = None) -> str:
    """The base scenario as written (includes resolved) with the chosen settings applied: ready to run."""
    import yaml

    from sim.scenario import apply_override, validate
    raw = scenario.raw()
    for k, v in design.items():
        apply_override(raw, k, v, file=str(scenario.file))
    validate(raw, file=str(scenario.file))   # it runs as it is
    head = ["# The best design found by 'loyalsim optimise' (loyalsim run this file to see it in full).",
            f"# Base scenario: {scenario.file}", "# Settings chosen:"]
    head += [f"#   {k}: {json.dumps(v)}" for k, v in design.items()]
    if doc:
        ch = doc.get("chosen") or {}
        est = (ch.get("estimate") or {}) if not ch.get("no_programme") else \
            ((doc.get("best_programme") or {}).get("estimate") or {})
        if ch.get("no_programme"):
            head.append("# Note: no programme beat every design in the selection; this is the best programme design.")
        if est.get("mean") is not None:
            obj = doc.get("objective", "incremental_profit")
            head.append(f"# {obj} on {est.get('n')} fresh replications: {est['mean']:,.0f}"
                        + (f" (95% interval {est['ci_low']:,.0f} to {est['ci_high']:,.0f})"
                           if est.get("ci_low") is not None else ""))
    return "\n".join(head) + "\n" + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------- files

def storage_url(out_dir):
    """Optuna's SQLite storage in DIR/optuna.db (None: in memory, not resumable)."""
    if out_dir is None:
        return None
    from pathlib import Path
    return f"sqlite:///{(Path(out_dir) / 'optuna.db').resolve()}"


def write_outputs(out_dir, scenario, res: OptimiseResult, doc: dict, fmt="parquet") -> list:
    """best.yaml, trials.<fmt>, evaluations.<fmt>, summary.json and (two objectives) pareto.csv in out_dir."""
    from pathlib import Path

    from sim.results import clean
    out = Path(out_dir)
    written = []

    def table(df, stem):
        path = out / f"{stem}.{fmt}"
        if fmt == "parquet":
            df = df.copy()
            for c in df.columns:   # mixed objects (a design field holding lists) as text, so Parquet takes them
                if df[c].dtype == object:
                    df[c] = df[c].map(lambda v: v if v is None or isinstance(v, (str, bool)) else json.dumps(v)
                                      if isinstance(v, (list, dict)) else str(v) if not isinstance(v, (int, float))
                                      else v)
            try:
                df.to_parquet(path, index=False)
            except (TypeError, ValueError):
                df.astype({c: str for c in df.columns if df[c].dtype == object}).to_parquet(path, index=False)
        else:
            df.to_csv(path, index=False)
        written.append(path.name)

    table(res.trials_table(), "trials")
    table(res.evaluations_table(), "evaluations")
    best = res.chosen_design if res.chosen_design is not None else res.design(res.best_programme)
    if best is not None:
        (out / "best.yaml").write_text(best_yaml(scenario, best, doc))
        written.insert(0, "best.yaml")
    if res.problem.multi and res.pareto:
        import pandas as pd
        rows = [{"trial": r["trial"], **{f.field: _cell(r["design"].get(f.field)) for f in res.problem.factors},
                 **{o: r["means"][o] for o in res.problem.objectives}} for r in res.pareto]
        pd.DataFrame(rows).to_csv(out / "pareto.csv", index=False)
        written.append("pareto.csv")
    (out / "summary.json").write_text(json.dumps(clean(doc), indent=2) + "\n")
    written.append("summary.json")
    return written


def problem_block(problem: Problem) -> dict:
    """The ``optimise:`` block that states this problem (for a report's reproduce section)."""
    vary = {}
    for f in problem.factors:
        vary[f.field] = list(f.values) if f.values is not None else f"{f.low:g}:{f.high:g}"
    block = {"budget": problem.budget,
             "objective": problem.objectives[0] if not problem.multi else list(problem.objectives),
             "constraints": [c.text() for c in problem.constraints], "replications": problem.replications,
             "batch": problem.batch, "seed": problem.seed, "vary": vary,
             "select": {"finalists": problem.finalists, "confidence": problem.confidence, "initial": problem.initial,
                        "max_replications": problem.max_replications, "confirm": problem.confirm}}
    if problem.indifference is not None:
        block["select"]["indifference"] = problem.indifference
    if problem.robust_draws:
        block["robust"] = {"draws": problem.robust_draws}
    return block
