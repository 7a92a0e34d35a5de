"""Programme response from evidence: fit how strongly customers respond, per channel,
so that a scenario's simulated lifts match lifts observed in a pilot or quoted by
the industry.

The fitted quantities are the scenario's ``response`` strengths (purchase
intensity, basket, dropout): each scales every mechanic's effect on its channel
as 1 + strength x (effect - 1), so the structure of the programme (who is
rewarded, when, at what cost) stays the mechanics' and only the size of the
behavioural response is fitted. The baseline arm is simulated once; each trial
re-runs the programme arm from the same launch base on the same random numbers,
so the lift is a smooth function of the strengths.

The strengths are bounded by the evidence: from 0 (no response) to the top of
their range in the scenario schema (twice the evidence-sized defaults). Lifts
that need more than that (the loyalty industry's own claims, for instance) are
out of reach of the evidence: the fit says which, and writes nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calibration.smm import gauss_newton
from calibration.files import read_yaml
from sim.errors import DataError

LIFT_METRICS = ("retention_rate", "average_check", "purchase_frequency", "loyal_share", "repeat_purchase_rate",
                "latent_survival")
CHANNELS = ("intensity", "basket", "dropout")


@dataclass
class Evidence:
    scenario_path: Path
    lifts: dict           # metric -> ("relative", value) or ("to", value)
    customers: int = 6000
    file: str = "<evidence>"


TOLERANCE = 0.05  # a lift is met when the simulated lift is within 5% of it (or 0.2 points of a small one)


@dataclass
class ResponseFit:
    strengths: dict
    baseline: dict
    programme: dict
    achieved: dict
    targets: dict
    errors: dict          # per metric: (simulated lift - target lift) / |target lift|
    evaluations: int
    notes: list = field(default_factory=list)
    bounds: dict = field(default_factory=dict)

    @property
    def within_tolerance(self) -> bool:
        return all(abs(self.achieved[m] - self.targets[m]) <= max(TOLERANCE * abs(self.targets[m]), 0.002)
                   for m in self.targets)


def strength_bounds() -> dict:
    """Each channel's evidence range, from the scenario schema."""
    from sim.scenario import RESPONSE
    return {c: RESPONSE.fields[c].range for c in CHANNELS}


def read_evidence(path) -> Evidence:
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict) or "scenario" not in raw or "lifts" not in raw:
        raise DataError(f"{path}: expected 'scenario: FILE' and 'lifts: {{metric: {{relative: x}} or {{to: y}}}}'")
    for key in raw:
        if key not in ("scenario", "lifts", "customers"):
            raise DataError(f"{path}: {key}: unknown key (allowed: scenario, lifts, customers)")
    scen = (path.parent / str(raw["scenario"])).resolve()
    if not scen.exists():
        raise DataError(f"{path}: scenario: file not found: {scen}")
    lifts = {}
    if not isinstance(raw["lifts"], dict) or not raw["lifts"]:
        raise DataError(f"{path}: lifts: expected a mapping of metric: {{relative: x}} or {{to: y}}")
    for metric, spec in raw["lifts"].items():
        if metric not in LIFT_METRICS:
            raise DataError(f"{path}: lifts.{metric}: unknown metric (allowed: {', '.join(LIFT_METRICS)})")
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in ("relative", "to"):
            raise DataError(f"{path}: lifts.{metric}: got {spec!r}; allowed: {{relative: 0.15}} (+15%) or {{to: 3.5}}")
        kind, value = next(iter(spec.items()))
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise DataError(f"{path}: lifts.{metric}.{kind}: got {value!r}; allowed: a number")
        if kind == "relative" and value <= -1:
            raise DataError(f"{path}: lifts.{metric}.relative: got {value}; allowed: > -1")
        lifts[metric] = (kind, float(value))
    customers = raw.get("customers", 6000)
    if not isinstance(customers, int) or customers < 500:
        raise DataError(f"{path}: customers: got {customers!r}; allowed: a whole number >= 500")
    return Evidence(scenario_path=scen, lifts=lifts, customers=customers, file=str(path))


def fit_response(ev: Evidence, seed=20240601, max_evals=60, beyond_evidence=False) -> ResponseFit:
    from sim import scenario as scenario_mod
    from sim.runner import run_arms

    sc = scenario_mod.load(ev.scenario_path, {"customers.initial": ev.customers, "replications": 1, "seed": seed})
    if sc.programme_is_empty():
        raise DataError(f"{ev.scenario_path}: programme: empty; a response can only be fitted to a programme")

    def run(trial):
        # one replication; the launch base and baseline are computed once and shared by every trial
        res = run_arms(sc, {"programme": trial}, 1, backend="serial", share=True)
        return res.records("baseline")[0].metrics, res.records("programme")[0].metrics

    baseline, _ = run(sc)
    targets = {}
    for metric, (kind, value) in ev.lifts.items():
        targets[metric] = baseline[metric] * (1 + value) if kind == "relative" else value
    # which channels the evidence can identify: frequency -> intensity, check -> basket, retention -> dropout
    channels = []
    if any(m in targets for m in ("purchase_frequency", "loyal_share", "repeat_purchase_rate")):
        channels.append("intensity")
    if "average_check" in targets:
        channels.append("basket")
    if any(m in targets for m in ("retention_rate", "latent_survival")):
        channels.append("dropout")
    evals = 0
    last = {}

    def programme_metrics(strengths):
        nonlocal evals
        evals += 1
        trial = sc.with_overrides({f"response.{c}": strengths.get(c, 1.0) for c in CHANNELS})
        return run(trial)[1]

    def residuals(x):
        strengths = {c: float(math.exp(v)) for c, v in zip(channels, x)}
        got = programme_metrics(strengths)
        last.update(got)
        return np.array([(got[m] - t) / (abs(t - baseline[m]) + 0.05 * abs(baseline[m]) + 1e-12)
                         for m, t in targets.items()])

    bounds = strength_bounds()
    if beyond_evidence:  # up to the schema's hard limit: to see what it would take, not to use as a default
        from sim.scenario import RESPONSE
        bounds = {c: (0.0, RESPONSE.fields[c].hi) for c in CHANNELS}
    lo = np.array([math.log(max(bounds[c][0], 0.01)) for c in channels])
    hi = np.array([math.log(bounds[c][1]) for c in channels])
    x = gauss_newton(residuals, np.zeros(len(channels)), lo=lo, hi=hi, max_evals=max_evals)
    strengths = {c: 1.0 for c in CHANNELS}
    strengths.update({c: float(min(max(math.exp(v), bounds[c][0]), bounds[c][1])) for c, v in zip(channels, x)})
    programme = programme_metrics(strengths)
    achieved = {m: (programme[m] - baseline[m]) / baseline[m] for m in targets}
    target_rel = {m: (targets[m] - baseline[m]) / baseline[m] for m in targets}
    errors = {m: (achieved[m] - target_rel[m]) / abs(target_rel[m]) if target_rel[m] else achieved[m] - target_rel[m]
              for m in targets}
    fit = ResponseFit(strengths=strengths, baseline={m: baseline[m] for m in targets},
                      programme={m: programme[m] for m in targets}, achieved=achieved, targets=target_rel,
                      errors=errors, evaluations=evals, bounds=bounds)
    at_top = [c for c in channels if strengths[c] >= bounds[c][1] * (1 - 1e-6)]
    for m in targets:
        if abs(achieved[m] - target_rel[m]) > max(TOLERANCE * abs(target_rel[m]), 0.002):
            fit.notes.append(f"{m}: the lift {100 * target_rel[m]:+.1f}% is out of reach; the evidence allows at most "
                             f"{100 * achieved[m]:+.1f}% here" + (f" ({', '.join(at_top)} at the top of its evidence "
                                                                    f"range, {bounds[at_top[0]][1]:g}x the defaults)"
                                                                    if at_top
                                                                    else " (the channels cannot meet every lift together)"))
    return fit


def render(fit: ResponseFit) -> str:
    out = ["Programme response fitted to evidence (paired lifts, common random numbers)", ""]
    out.append(f"{'metric':24} {'baseline':>10} {'target':>10} {'simulated':>10} {'target lift':>12} {'simulated lift':>15}")
    for m in fit.targets:
        t = fit.baseline[m] * (1 + fit.targets[m])
        out.append(f"{m:24} {fit.baseline[m]:>10.4g} {t:>10.4g} {fit.programme[m]:>10.4g} "
                   f"{100 * fit.targets[m]:>+11.1f}% {100 * fit.achieved[m]:>+14.1f}%")
    out += ["", "response strengths (1 = the evidence-sized defaults; allowed 0 to the top of each evidence range): " +
            ", ".join(f"{k} {v:.3g}" for k, v in fit.strengths.items()), f"{fit.evaluations} simulations."]
    out += [f"Note: {n}" for n in fit.notes]
    return "\n".join(out)


def response_block(fit: ResponseFit) -> dict:
    return {"response": {k: float(round(v, 5)) for k, v in fit.strengths.items()}}
