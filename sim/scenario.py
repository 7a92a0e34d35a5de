"""Scenario files: load safely, resolve includes and overrides, validate, fill defaults.

A scenario is a YAML mapping. Every field, its default and the source of that
default is declared below (and in each mechanic's own ``SCHEMA``), so
``loyalsim validate FILE --explain`` can print the whole contract.
"""
from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
from pathlib import Path


from sim.errors import ScenarioError
from sim.plain import plain
from sim.schema import Choice, Date, Effect, Int, ListOf, NonNeg, Num, Pos, Prob, Section, Str
from sim.studies.schemas import OPTIMISE, PRIORS, SWEEP
from sim.time_units import TIME_UNITS
from sim.traits import TRAITS


# Baseline behaviour: the "buy till you die" family (docs/DESIGN.md#the-customer-base-buy-till-you-die).
# Defaults are the published CDNOW fits (Fader, Hardie & Lee 2005, Marketing Science 24(2)), so a
# scenario that says nothing about purchasing behaves like a real customer base.
PURCHASE = Section(doc="purchase and dropout process", fields={
    "model": Choice(("bgnbd", "paretonbd"), "bgnbd",
                    "bgnbd: dropout after each repeat order with p ~ Beta(a, b); "
                    "paretonbd: exponential lifetime, mu ~ Gamma(s, beta)"),
    "r": Pos(0.243, "purchase rate heterogeneity: lambda ~ Gamma(r, alpha) per time unit (CDNOW BG/NBD fit)", grade="measured"),
    "alpha": Pos(4.414, "Gamma scale (rate) of lambda, in time units (CDNOW BG/NBD fit, weeks)", grade="measured"),
    "a": Num(0.793, lo=0.0, lo_open=True, nullable=True, grade="measured", doc="BG/NBD dropout Beta a (CDNOW fit)"),
    "b": Num(2.426, lo=0.0, lo_open=True, nullable=True, grade="measured", doc="BG/NBD dropout Beta b (CDNOW fit)"),
    "s": Num(0.606, lo=0.0, lo_open=True, nullable=True, grade="measured", doc="Pareto/NBD lifetime Gamma shape s (CDNOW fit)"),
    "beta": Num(11.669, lo=0.0, lo_open=True, nullable=True, grade="measured",
                doc="Pareto/NBD lifetime Gamma scale beta, time units (CDNOW fit)"),
})

# Gamma-Gamma spend per order (Fader, Hardie & Lee 2005b; CDNOW fit p 6.25, q 3.74,
# gamma 15.44 in dollars, i.e. mean order about $35). Scenarios rescale gamma to
# their own currency and average check.
SPEND = Section(doc="order value, Gamma-Gamma", fields={
    "p": Pos(6.25, "shape of each order's value around the customer's mean (CDNOW fit)", grade="measured"),
    "q": Num(3.74, lo=1.0, lo_open=True, grade="measured", doc="shape of customers' mean-spend heterogeneity, > 1 (CDNOW fit)"),
    "gamma": Pos(15.44, "scale of mean-spend heterogeneity, in currency (CDNOW fit, dollars)", grade="measured"),
})

SEGMENT = Section(doc="a customer segment", fields={
    "name": Str(doc="segment name"),
    "share": Prob(doc="share of the customer base, segments sum to 1"),
    "purchase": Section(open_keys=True, doc="overrides of customers.purchase"),
    "spend": Section(open_keys=True, doc="overrides of customers.spend"),
    "traits": Section(open_keys=True, doc="overrides of customers.traits"),
})

CUSTOMERS = Section(doc="the customer base", fields={
    "initial": Int(10000, lo=1, hi=50_000_000, doc="customers in the base at launch"),
    "start": Choice(("mature", "fresh", "twin"), "mature",
                    "mature: a base acquired over history_days with its purchase history; "
                    "fresh: a cohort whose first order is on day 0; "
                    "twin: the real customers of a log (customers.twin, written by loyalsim calibrate --out)"),
    "twin": Str(None, "start twin: the twin file (Parquet) written by loyalsim calibrate; relative to the file "
                "that names it", nullable=True),
    "twin_id": Str(None, "start twin: filled in on load from the twin file's id (so results stored for another "
                   "twin are never reused); a scenario that gives one must match the file", nullable=True),
    "sample": Num(None, lo=0.0, lo_open=True, hi=50_000_000, nullable=True,
                  doc="start twin: keep a share (0 < s <= 1) or a count (> 1) of the twin's customers, drawn "
                      "reproducibly from their hashes (quick runs of a large base)"),
    "scale_to": Int(None, lo=1, hi=500_000_000, nullable=True,
                    doc="start twin: report totals for this many customers (the whole chain the log or the sample "
                        "stands for), at least the customers simulated. Each replication then runs a fresh "
                        "stratified sample of the twin (customers.sample of it; with no sample and more customers "
                        "than the twin, a bootstrap resample of the twin), so the intervals carry the sampling error "
                        "of the scaling; totals (money, orders, customer counts) are multiplied by scale_to over "
                        "the customers simulated, ratios are not (docs/twin.md#a-chain-from-a-panel)"),
    "history_days": Int(730, lo=0, hi=3650, doc="mature base: days over which it was acquired"),
    "time_unit": Choice(tuple(TIME_UNITS), "week", "unit of alpha and beta (rates are per time unit)"),
    "purchase": PURCHASE,
    "spend": SPEND,
    "traits": TRAITS,
    "segments": ListOf(item=SEGMENT, doc="segments with shares; empty means one segment"),
    "acquisition": Section(doc="new customers during the horizon", fields={
        "per_day": NonNeg(0.0, "expected new customers per day (Poisson)"),
        "cost_per_customer": NonNeg(0.0, "acquisition cost per new customer, currency"),
    }),
    "contact": Section(doc="who personal offers and e-mails can reach (sim.mechanics.contact)", fields={
        "email_opt_in": Effect(0.3, 0.1, 0.6, hi=1.0, grade="assumption",
                               source="seed assumption: no study we know measures the share of non-member customers "
                                      "a retailer may e-mail; members are always reachable",
                               doc="share of customers outside the programme who opted in to marketing e-mail"),
    }),
})

ECONOMICS = Section(doc="money", fields={
    "currency": Str("EUR", "currency label"),
    "gross_margin": Prob(0.35, "gross margin on list price (retail seed figure)"),
    "discount_rate": NonNeg(0.10, "annual discount rate for lifetime value"),
    "programme_fixed_cost_per_month": NonNeg(0.0, "platform, staff and running cost of the programme"),
    "programme_setup_cost": NonNeg(0.0, "one-off launch cost, booked on day 0"),
    "delivery_fee": NonNeg(0.0, "delivery fee customers pay per order; free delivery gives it up"),
})

METRICS = Section(doc="metric definitions", fields={
    "activity_window_days": Int(365, lo=1, hi=3650,
                                doc="a customer counts as active if they ordered within this window (CRM practice)"),
    "loyal_min_orders": Int(3, lo=1, hi=1000, doc="loyal = at least this many orders in the trailing year"),
})


# How strongly customers respond to the programme. Each channel's strength scales every
# mechanic's effect on it as 1 + strength x (effect - 1) (referrals and campaigns: their
# rates); 1 keeps the documented defaults, 0 switches the channel's behaviour off (costs
# stay), and `loyalsim calibrate --response` fits them to observed lifts. The value curve
# (sim/mechanics/value.py) turns what a programme gives into how much it moves.
_STRENGTH = ("calibration knob: 1 keeps the evidence-sized defaults; the range runs from no response to twice "
             "them (the optimistic end); calibrate --response stays inside it")
RESPONSE = Section(doc="response strengths per channel, and the value curve every effect follows", fields={
    "intensity": Num(1.0, lo=0.0, hi=20.0, range=(0.0, 2.0), grade="assumption", source=_STRENGTH,
                     doc="scales every effect on purchase frequency (1: the documented defaults)"),
    "basket": Num(1.0, lo=0.0, hi=20.0, range=(0.0, 2.0), grade="assumption",
                  source=_STRENGTH, doc="scales every effect on basket size"),
    "dropout": Num(1.0, lo=0.0, hi=20.0, range=(0.0, 2.0), grade="assumption", source=_STRENGTH,
                   doc="scales every effect on the dropout hazard"),
    "referrals": Num(1.0, lo=0.0, hi=20.0, range=(0.0, 2.0), grade="assumption", source=_STRENGTH,
                     doc="scales the referral rate of a referral programme"),
    "campaigns": Num(1.0, lo=0.0, hi=20.0, range=(0.0, 2.0), grade="assumption", source=_STRENGTH,
                     doc="scales the response to campaign messages (orders and win-backs)"),
    "value_half": Effect(0.10, 0.03, 0.3, lo=0.001, hi=10.0,
                         grade="assumption",
                         source="seed assumption: responses saturate as rewards grow (Leenheer et al. 2002/2007: high "
                                "discounts do not buy a higher share of wallet); no published dose-response curve",
                         doc="perceived value (reward per unit of spend) at which a response is half its maximum"),
    "delay_half_days": Effect(90.0, 30.0, 365.0, lo=1.0, hi=36500.0,
                              grade="direction",
                              source="hyperbolic discounting of delayed rewards (Keh & Lee 2006: immediate rewards "
                                     "preferred; Frederick, Loewenstein & O'Donoghue 2002); size a seed assumption",
                              doc="a reward this many days away is worth half the same reward now"),
})


def programme_section() -> Section:
    from sim.mechanics import MECHANICS
    return Section(doc="the programme: each mechanic optional; enrolment applies when there is points or tiers",
                   fields={name: cls.SCHEMA for name, cls in MECHANICS.items()})


def scenario_schema() -> Section:
    return Section(fields={
        "name": Str(doc="scenario name"),
        "description": Str("", "what this scenario represents"),
        "horizon_days": Int(365, lo=1, hi=36500, doc="days simulated after launch"),
        "start_date": Date(_dt.date(2027, 1, 1), doc="launch date (calendar for promotions, tiers, birthdays)"),
        "seed": Int(1, lo=0, hi=2**63 - 1, doc="random seed"),
        "replications": Int(10, lo=1, hi=100000, doc="independent replications (for confidence intervals)"),
        "customers": CUSTOMERS,
        "economics": ECONOMICS,
        "metrics": METRICS,
        "programme": programme_section(),
        "response": RESPONSE,
        "uncertainty": PRIORS,
        "sweep": SWEEP,
        "optimise": OPTIMISE,
    })


# --------------------------------------------------------------------------- loading

MAX_INCLUDES = 50  # included files per scenario (each bounded by sim.yamlio's size and value limits)


def _load_yaml(path: Path, context_file=None, budget=None, field="include"):
    """A scenario (or included) file's data, read safely and bounded (see sim.yamlio);
    ``budget`` ({"nodes": n, "files": n}) is shared by a scenario and everything it includes.
    A file that cannot be read is reported against the file and field that include it;
    a problem inside it, against the file itself."""
    from sim.yamlio import YamlProblem, loads_counted, read_text
    budget = budget if budget is not None else {"nodes": _max_nodes(), "files": MAX_INCLUDES}
    budget["files"] -= 1
    if budget["files"] < 0:
        raise ScenarioError(context_file or path, field, f"more than {MAX_INCLUDES} included files; allowed: "
                            f"at most {MAX_INCLUDES} (does a file include itself?)")
    try:
        text = read_text(path, what="scenario YAML")
    except FileNotFoundError:
        raise ScenarioError(context_file or path, field if context_file else None,
                            f"file not found: {path}") from None
    except YamlProblem as e:
        if context_file:
            raise ScenarioError(context_file, field, f"{path} {e}") from None
        raise ScenarioError(path, None, str(e)) from None
    try:
        data, size = loads_counted(text, max_nodes=max(budget["nodes"], 1))
    except YamlProblem as e:
        raise ScenarioError(path, None, str(e)) from None
    budget["nodes"] -= size
    return data


def _max_nodes():
    from sim.yamlio import MAX_NODES
    return MAX_NODES


def _resolve_includes(node, base_dir: Path, file, path="", depth=0, origins=None, budget=None):
    """``include: other.yaml`` in any mapping merges that file under the mapping's own keys.

    If the included file has a single top-level key equal to the key that includes
    it (a calibration block ``customers: {...}`` included under ``customers``),
    that wrapper is removed. ``origins`` (if given) collects {field path: included
    file} for the values that came from an include, so errors name that file.
    """
    if depth > 10:
        raise ScenarioError(file, path, "includes nest more than 10 deep (a cycle?)")
    if isinstance(node, dict):
        node = dict(node)
        if "include" in node:
            inc = node.pop("include")
            if not isinstance(inc, str):
                raise ScenarioError(file, f"{path}.include" if path else "include", f"got {inc!r}; allowed: a file path")
            inc_path = (base_dir / inc).resolve()
            data = _load_yaml(inc_path, context_file=file, budget=budget,
                              field=f"{path}.include" if path else "include")
            last = path.rsplit(".", 1)[-1] if path else None
            if isinstance(data, dict) and last and list(data) == [last]:
                data = data[last]
            if not isinstance(data, dict):
                raise ScenarioError(inc_path, None, "an included file must hold a mapping")
            data = _resolve_includes(data, inc_path.parent, inc_path, path, depth + 1, origins, budget)
            _anchor_twin(data, inc_path.parent, path)
            if origins is not None:
                for sub in _field_paths(data, path):
                    origins.setdefault(sub, inc_path)  # a deeper include, recorded first, keeps its own
                for sub in _field_paths(node, path):
                    if sub != path:
                        origins.pop(sub, None)  # the including file's own keys win
            merged = _deep_merge(data, node)
            node = merged
        return {k: _resolve_includes(v, base_dir, file, f"{path}.{k}" if path else str(k), depth, origins, budget)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_includes(v, base_dir, file, f"{path}[{i}]", depth, origins, budget) for i, v in enumerate(node)]
    return node


def _field_paths(node, path):
    """Every field path in ``node`` (mappings and lists included), as the schema names them."""
    if isinstance(node, dict):
        for k, v in node.items():
            sub = f"{path}.{k}" if path else str(k)
            yield sub
            yield from _field_paths(v, sub)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            sub = f"{path}[{i}]"
            yield sub
            yield from _field_paths(v, sub)


def _origin(origins, field):
    """The included file a field's value came from, or None (the scenario file itself)."""
    f = field or ""
    while f:
        if f in origins:
            return origins[f]
        cut = max(f.rfind("."), f.rfind("["))
        if cut <= 0:
            return None
        f = f[:cut]
    return None


def _deep_merge(base, over):
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def parse_assignment(assignment: str):
    """``dotted.path=value`` from the command line: the value is read as YAML (``0.2``, ``[1, 2]``, ``{a: 1}``)."""
    if not isinstance(assignment, str) or "=" not in assignment:
        raise ScenarioError("--set", assignment, "expected dotted.path=value, e.g. programme.points.earn_per_currency=2")
    key, _, text = assignment.partition("=")
    from sim.yamlio import YamlProblem, loads
    try:
        value = loads(text) if text.strip() else None
    except YamlProblem:
        value = text
    return key.strip(), value


def apply_override(raw: dict, key: str, value, file="--set"):
    """Set the field at a dotted path (list items by index: ``levels.1.threshold``) in a raw scenario mapping."""
    parts = [p for p in str(key).split(".") if p]
    if not parts:
        raise ScenarioError(file, key, "empty field path")
    node = raw
    for i, part in enumerate(parts[:-1]):
        here = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError(file, here, f"list index out of range (0..{len(node) - 1})")
            node = node[int(part)]
        else:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        if not isinstance(node, (dict, list)):
            raise ScenarioError(file, here, "is a value, not a section")
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise ScenarioError(file, key, f"list index out of range (0..{len(node) - 1})")
        node[int(last)] = value
    else:
        node[last] = value


def _override_items(overrides):
    """Overrides as (path, value) pairs: from a mapping {path: value} or from ``path=value`` strings."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return list(overrides.items())
    if isinstance(overrides, str):
        overrides = [overrides]
    return [parse_assignment(a) if isinstance(a, str) else tuple(a) for a in overrides]


def load_raw(path, overrides=(), origins=None):
    path = Path(path)
    if path.is_dir():
        raise ScenarioError(path, None, "is a folder; expected a scenario YAML file")
    raw = _load_yaml(path)
    if raw is None:
        raise ScenarioError(path, None, "the file is empty; expected a scenario mapping (name, customers, programme, ...)")
    if not isinstance(raw, dict):
        raise ScenarioError(path, None, "expected a mapping at the top level (name, customers, programme, ...)")
    budget = {"nodes": _max_nodes(), "files": MAX_INCLUDES}
    raw = _resolve_includes(raw, path.parent, path, origins=origins, budget=budget)
    _anchor_twin(raw, path.parent, "")
    for key, value in _override_items(overrides):
        apply_override(raw, key, value)
        if origins is not None:
            key = ".".join(p if not p.isdigit() else f"[{p}]" for p in str(key).split(".") if p).replace(".[", "[")
            for sub in [o for o in origins if o.startswith(key + ".") or o.startswith(key + "[")]:
                origins.pop(sub)
            origins[key] = None  # set on the command line: reported against the scenario file
    return raw


def validate(raw: dict, file="<scenario>") -> "Scenario":
    raw = _plain(copy.deepcopy(raw))
    cfg = scenario_schema().check(copy.deepcopy(raw), "", file)
    _check_customers(cfg, raw, file)
    from sim.mechanics import MECHANICS
    MECHANICS.check(cfg.programme, file)  # each running mechanic has those it requires
    for name, cls in MECHANICS.items():
        if cfg.programme.get(name) is not None and cls.active(cfg.programme):
            cls.validate(cfg.programme[name], cfg, f"programme.{name}", file)
    return Scenario(cfg.freeze(), file, raw)


def load(path, overrides=()) -> "Scenario":
    """Load, resolve includes, apply overrides ({"a.b": value} or ["a.b=value", ...]) and validate."""
    origins = {}
    raw = load_raw(path, overrides, origins=origins)
    try:
        return validate(raw, file=str(path))
    except ScenarioError as e:
        source = _origin(origins, e.field) if e.file == str(path) else None
        overridden = [str(k) for k, _ in _override_items(overrides)]
        if source is None or any(k == e.field or k.startswith(f"{e.field}.") for k in overridden):
            raise
        raise ScenarioError(source, e.field, f"{e.problem} (in the file {path} includes)") from None


def _check_purchase(p, path, file):
    need = ("a", "b") if p.model == "bgnbd" else ("s", "beta")
    for k in need:
        if p.get(k) is None:
            raise ScenarioError(file, f"{path}.{k}", f"is required for model {p.model}")
    if p.model == "bgnbd" and p.a <= 0:
        raise ScenarioError(file, f"{path}.a", "must be > 0")


def _anchor_twin(data, base_dir: Path, path: str):
    """A twin file named in a file is relative to that file: make the path absolute where it is read."""
    node = data if path == "customers" else data.get("customers") if isinstance(data, dict) and not path else None
    if isinstance(node, dict) and isinstance(node.get("twin"), str) and not Path(node["twin"]).is_absolute():
        node["twin"] = str((base_dir / node["twin"]).resolve())


def _check_twin(c, file):
    """start twin: the twin file exists and is one; the base's size is the (sampled) twin's."""
    if c.start != "twin":
        if c.sample is not None:
            raise ScenarioError(file, "customers.sample", f"got {c.sample:g}; allowed only with start: twin (a drawn "
                                "base is sized by customers.initial)")
        if c.scale_to is not None:
            raise ScenarioError(file, "customers.scale_to", f"got {c.scale_to:,}; allowed only with start: twin (a "
                                "drawn base is sized by customers.initial: set initial to the chain's customers)")
        return
    if not c.twin:
        raise ScenarioError(file, "customers.twin", "start twin needs the twin file (written by loyalsim calibrate "
                            "LOG --out population.yaml, which names it in the block)")
    from sim import twin
    from sim.errors import DataError
    try:
        meta = twin.describe(c.twin)
    except DataError as e:
        raise ScenarioError(file, "customers.twin", str(e).removeprefix("customers.twin: ")) from None
    if c.twin_id is not None and c.twin_id != meta.get("twin_id"):
        raise ScenarioError(file, "customers.twin_id", f"got {c.twin_id!r} but {c.twin} is the twin "
                            f"{meta.get('twin_id')!r}: the file was written again since; drop twin_id to use it")
    c["twin_id"] = meta.get("twin_id")
    c["initial"] = twin.sample_size(meta["rows"], c.sample)
    if c.scale_to is not None and c.scale_to < c.initial:
        raise ScenarioError(file, "customers.scale_to", f"got {c.scale_to:,}; allowed: a whole number at least the "
                            f"customers simulated ({c.initial:,}{' sampled' if c.sample is not None else ''} of the "
                            f"twin's {meta['rows']:,}): it is the whole base the run stands for")


def _check_customers(cfg, raw, file):
    c = cfg.customers
    _check_purchase(c.purchase, "customers.purchase", file)
    _check_twin(c, file)
    segs = c.segments
    if not segs:
        c["segments"] = [_segment(c, {"name": "all", "share": 1.0, "purchase": {}, "spend": {}, "traits": {}}, 0, file)]
        _check_scale(c["segments"][0], c.time_unit, "customers", file)
        return
    total = sum(s.share for s in segs)
    if abs(total - 1.0) > 1e-6:
        raise ScenarioError(file, "customers.segments", f"shares sum to {total:g}; allowed: they must sum to 1")
    names = [s.name for s in segs]
    if len(set(names)) != len(names):
        raise ScenarioError(file, "customers.segments", f"segment names repeat: {names}")
    c["segments"] = [_segment(c, s, i, file) for i, s in enumerate(segs)]
    for i, seg in enumerate(c["segments"]):
        _check_scale(seg, c.time_unit, f"customers.segments[{i}]", file)


# What a customer base can mean: beyond these the simulation would loop on orders for
# hours or its money would overflow, and no business looks like that.
MAX_ORDERS_PER_DAY = 10.0   # a customer's mean purchase rate, r / alpha, in orders a day
MAX_ORDER_VALUE = 1e9       # the mean order value, p x gamma / (q - 1), in currency
MIN_ORDER_VALUE = 0.01      # ... and at least a cent: orders worth nothing leave spend ratios undefined


def _check_scale(seg, time_unit, path, file):
    p, sp = seg.purchase, seg.spend
    per_day = p.r / p.alpha / TIME_UNITS[time_unit]
    if per_day > MAX_ORDERS_PER_DAY:
        raise ScenarioError(file, f"{path}.purchase", f"r / alpha = {p.r:g} / {p.alpha:g} is a mean of {per_day:.3g} "
                            f"orders per customer a day (time_unit {time_unit}); allowed: at most {MAX_ORDERS_PER_DAY:g} "
                            "a day (lower r or raise alpha)")
    mean_order = sp.p * sp.gamma / (sp.q - 1.0)
    if not (MIN_ORDER_VALUE <= mean_order <= MAX_ORDER_VALUE):
        raise ScenarioError(file, f"{path}.spend", f"p x gamma / (q - 1) = {sp.p:g} x {sp.gamma:g} / {sp.q - 1.0:.3g} "
                            f"is a mean order value of {mean_order:.3g}; allowed: from {MIN_ORDER_VALUE:g} to "
                            f"{MAX_ORDER_VALUE:g} (change gamma or q)")


def _segment(c, seg, i, file):
    """Resolve a segment: its overrides merged over the base's purchase, spend and traits blocks."""
    path = f"customers.segments[{i}]"
    p_over = dict(seg.get("purchase") or {})
    if "model" in p_over and p_over["model"] != c.purchase.model:
        base_p = {}
    else:
        base_p = {k: v for k, v in c.purchase.items()}
    purchase = PURCHASE.check({**base_p, **p_over}, f"{path}.purchase", file)
    _check_purchase(purchase, f"{path}.purchase", file)
    spend = SPEND.check({**c.spend, **(seg.get("spend") or {})}, f"{path}.spend", file)
    traits_raw = {k: dict(v) for k, v in c.traits.items()}
    for k, v in (seg.get("traits") or {}).items():
        if k not in TRAITS.fields:
            import difflib
            hint = difflib.get_close_matches(k, list(TRAITS.fields), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ScenarioError(file, f"{path}.traits.{k}", f"unknown trait{extra} (allowed: {', '.join(TRAITS.fields)})")
        if not isinstance(v, dict):
            raise ScenarioError(file, f"{path}.traits.{k}", f"got {v!r}; allowed: a mapping with a and b")
        traits_raw[k] = {**traits_raw[k], **v}
    traits = TRAITS.check(traits_raw, f"{path}.traits", file)
    from sim.schema import Config
    return Config(name=seg["name"], share=seg["share"], purchase=purchase, spend=spend, traits=traits)


# What the no-programme baseline depends on, as field paths: the customers, the calendar, the
# metric definitions, the seed and the economics a baseline books. Everything else (the
# programme, its costs, the response strengths, the delivery fee given up) belongs to a
# programme arm. This one list keys the result store's baseline records (baseline_identity;
# the seed enters a record's key as the replication seed) and decides which strategies can
# be compared on one baseline (baseline_difference, in this order).
BASELINE = ("customers", "horizon_days", "start_date", "metrics", "seed",
            "economics.currency", "economics.gross_margin", "economics.discount_rate")
SEED = "seed"
NOT_SIMULATED = ("name", "description", "seed", "replications")  # labels and run settings, not what an arm computes
STUDY_BLOCKS = ("sweep", "uncertainty", "optimise")  # blocks that describe studies, not the simulated world


class Scenario:
    """A validated scenario: immutable. ``cfg`` is the resolved configuration (every
    default filled in, read-only); ``with_overrides`` makes a new, re-validated one."""

    __slots__ = ("cfg", "file", "_raw", "_resolved")

    def __init__(self, cfg, file, raw=None):
        object.__setattr__(self, "cfg", cfg)
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "_raw", raw if raw is not None else _plain(cfg))
        object.__setattr__(self, "_resolved", None)

    def __setattr__(self, name, value):
        from sim.schema import IMMUTABLE
        raise TypeError(IMMUTABLE)

    def __reduce__(self):
        return (Scenario, (self.cfg, self.file, self._raw))

    def __repr__(self):
        return f"Scenario({self.name!r}, file={str(self.file)!r})"

    @property
    def name(self):
        return self.cfg.name

    def programme_is_empty(self):
        from sim.mechanics import MECHANICS
        return not any(cls.active(self.cfg.programme) for cls in MECHANICS.values())

    def with_overrides(self, overrides) -> "Scenario":
        """A new scenario with these fields changed ({"programme.points.earn_per_currency": 0.2}
        or ["field=value", ...]), validated exactly as ``--set`` is."""
        raw = copy.deepcopy(self._raw)
        for key, value in _override_items(overrides):
            apply_override(raw, key, value, file=self.file)
        return validate(raw, file=self.file)

    def raw(self) -> dict:
        """The scenario as written (includes resolved, overrides applied), before defaults."""
        return copy.deepcopy(self._raw)

    def resolved(self) -> dict:
        """The fully resolved scenario as plain data (defaults filled), for --out, reports and hashing."""
        if self._resolved is None:
            object.__setattr__(self, "_resolved", _plain(self.cfg))
        return copy.deepcopy(self._resolved)

    def digest(self) -> str:
        return _digest(self.resolved())

    # ---------------------------------------------------------------- identities for the result store
    def baseline_identity(self) -> dict:
        """What the no-programme arm depends on (``BASELINE``, but the seed, which enters a record's key
        through the replication seed), nested as in the scenario: {"customers": ..., "economics": {...}}."""
        r = self.resolved()
        ident = {}
        for path in BASELINE:
            if path == SEED:
                continue
            *outer, last = path.split(".")
            node, into = r, ident
            for part in outer:
                node, into = node[part], into.setdefault(part, {})
            into[last] = node[last]
        return ident

    def programme_identity(self) -> dict:
        """What a programme arm adds on top of the baseline: programme, costs, response."""
        r = self.resolved()
        skip = {p for p in BASELINE if "." not in p} | set(NOT_SIMULATED) | set(STUDY_BLOCKS)
        return {k: v for k, v in r.items() if k not in skip}

    def baseline_difference(self, other: "Scenario") -> str | None:
        """The first field of ``BASELINE`` in which the two scenarios differ (None: they share a baseline)."""
        mine, theirs = self.resolved(), other.resolved()
        for path in BASELINE:
            a, b = mine, theirs
            for part in path.split("."):
                a, b = a[part], b[part]
            if a != b:
                return path
        return None

    def shares_baseline_with(self, other: "Scenario") -> bool:
        return self.baseline_difference(other) is None


def unfelt(cfg) -> tuple[str, ...]:
    """Field paths (or their prefixes) that this scenario's design cannot feel: a mechanic's
    fields its configuration never uses (``Mechanic.unfelt``), enrolment without points or
    tiers to join, who can be reached when nothing sends a message."""
    from sim.mechanics import MECHANICS
    programme = cfg.programme
    out = []
    running = [(name, cls) for name, cls in MECHANICS.items() if cls.active(programme)]
    for name, cls in running:
        out += [f"programme.{name}.{f}" for f in cls.unfelt(programme[name])]
    if "enrolment" not in dict(running):
        out.append("programme.enrolment")
    if not any(cls.reaches(programme[name]) for name, cls in running):
        out.append("customers.contact")
    return tuple(out)


def felt(path: str, unfelt_fields) -> bool:
    return not any(path == u or path.startswith(u + ".") for u in unfelt_fields)


def assumptions(scenario: Scenario, behavioural_only=True) -> list[dict]:
    """The parameters in force, each with its value, default, plausible range, source and evidence grade.

    Behavioural parameters are those with an evidence range (``Effect`` in the
    schema); sections that are off (a mechanic not in the programme) are left out.
    Rows: field, value, default, low, high, source, grade, doc; ``grade`` says how well the
    default's size is known (sim.schema.GRADES: measured, direction or assumption; None for
    a field that declares none).
    """
    from sim.schema import REQUIRED, leaves
    resolved = scenario.resolved()
    rows = []
    cannot_feel = unfelt(scenario.cfg)
    for path, spec in leaves(scenario_schema()):
        if "[]" in path or not felt(path, cannot_feel):
            continue
        rng = getattr(spec, "range", None)
        if behavioural_only and rng is None:
            continue
        node = resolved
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        if node is None or isinstance(node, dict):
            continue
        programme = path.startswith("programme.") and path.split(".")[1]
        block = resolved["programme"].get(programme) if programme else None
        if programme and (block is None or block.get("enabled", True) is False):
            continue
        default = getattr(spec, "default", None)
        rows.append({"field": path, "value": node, "default": None if default is REQUIRED else default,
                     "low": rng[0] if rng else None, "high": rng[1] if rng else None,
                     "source": getattr(spec, "source", "") or "", "grade": getattr(spec, "grade", None),
                     "doc": spec.doc})
    return rows


def _digest(doc) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _plain(x):
    """Plain data (sim.plain), as a scenario holds it: mappings, lists, text dates."""
    return plain(x, keep_undefined=True)
