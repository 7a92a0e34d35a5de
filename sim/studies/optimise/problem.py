"""The problem: what to vary (``--vary`` or the ``optimise:`` block), the objective(s), the constraints
and the settings of every step, checked against the scenario before anything runs."""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field

import numpy as np

from sim.errors import ScenarioError, UserError, whole_option
from sim.plain import plain
from sim.studies.schemas import MEASURES, STAGE_WIDTH
from sim.studies.sweep import Factor, factor, parse_factor

# Replication seeds of each stage: the selection and the re-estimate never reuse the search's.
SEARCH_FROM, SELECT_FROM, CONFIRM_FROM, ROBUST_FROM = 0, 1000, 2000, 3000
ROBUST_SEEDS = 4            # replication seeds the robustness draws cycle over (as the PSA's)
NO_PROGRAMME = "no programme"


OBJECTIVES = tuple(MEASURES)
DEFAULT_OBJECTIVE = "incremental_profit"
DEFAULT_INDIFFERENCE = {"money": "0.2%", "ratio": 0.05, "points": 0.002}  # money: share of the baseline's profit

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
        doc = {"identity": self.identity, "factors": [factor_doc(f) for f in self.factors],
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
            out[f.field] = plain(v, keep_undefined=True)
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


def factor_doc(f: Factor) -> dict:
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
            f.values = [plain(v, keep_undefined=True) for v in f.values]
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


def resolve_indifference(problem: Problem, baseline_profit) -> tuple[float, str]:
    kind = MEASURES[problem.objective].kind
    ind = problem.indifference if problem.indifference is not None else DEFAULT_INDIFFERENCE[kind]
    if isinstance(ind, str):
        share = float(ind[:-1]) / 100.0
        if baseline_profit is None or not math.isfinite(baseline_profit) or baseline_profit == 0:
            raise UserError(f"--indifference {ind}: the baseline's profit is not known here; give an amount")
        return share * abs(baseline_profit), f"{ind} of the no-programme profit over the horizon"
    return float(ind), "the amount given" if problem.indifference is not None else f"the default for {kind}"


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

def mean_of(values) -> float:
    """The mean of the defined values (None and NaN left out); NaN when none is."""
    x = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(x)) if x else math.nan
