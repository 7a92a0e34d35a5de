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


@dataclass
class ResponseFit:
    strengths: dict
    baseline: dict
    programme: dict
    achieved: dict
    targets: dict
    errors: dict
    evaluations: int
    notes: list = field(default_factory=list)


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


def fit_response(ev: Evidence, seed=20240601, max_evals=60) -> ResponseFit:
    from sim import scenario as scenario_mod
    from sim.api import run_arms

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

    x = gauss_newton(residuals, np.zeros(len(channels)), lo=math.log(0.01), hi=math.log(50.0), max_evals=max_evals)
    strengths = {c: 1.0 for c in CHANNELS}
    strengths.update({c: float(math.exp(v)) for c, v in zip(channels, x)})
    programme = programme_metrics(strengths)
    achieved = {m: (programme[m] - baseline[m]) / baseline[m] for m in targets}
    target_rel = {m: (targets[m] - baseline[m]) / baseline[m] for m in targets}
    errors = {m: programme[m] / targets[m] - 1.0 for m in targets}
    notes = []
    if any(s >= 49 for s in strengths.values()):
        notes.append("a strength hit its upper bound (50x the documented defaults): the programme as configured "
                     "cannot produce lifts that large; check its rewards and thresholds")
    for m, e in errors.items():
        if abs(e) > 0.05:
            notes.append(f"{m}: simulated {programme[m]:.4g} vs target {targets[m]:.4g} ({100 * e:+.1f}%): the channels "
                         "cannot meet every lift together")
    return ResponseFit(strengths=strengths, baseline={m: baseline[m] for m in targets},
                       programme={m: programme[m] for m in targets}, achieved=achieved, targets=target_rel,
                       errors=errors, evaluations=evals, notes=notes)


def render(fit: ResponseFit) -> str:
    out = ["Programme response fitted to evidence (paired lifts, common random numbers)", ""]
    out.append(f"{'metric':24} {'baseline':>10} {'target':>10} {'simulated':>10} {'target lift':>12} {'simulated lift':>15}")
    for m in fit.targets:
        t = fit.baseline[m] * (1 + fit.targets[m])
        out.append(f"{m:24} {fit.baseline[m]:>10.4g} {t:>10.4g} {fit.programme[m]:>10.4g} "
                   f"{100 * fit.targets[m]:>+11.1f}% {100 * fit.achieved[m]:>+14.1f}%")
    out += ["", "response strengths (1 = documented defaults): " +
            ", ".join(f"{k} {v:.3g}" for k, v in fit.strengths.items()), f"{fit.evaluations} simulations."]
    out += [f"Note: {n}" for n in fit.notes]
    return "\n".join(out)


def response_block(fit: ResponseFit) -> dict:
    return {"response": {k: float(round(v, 5)) for k, v in fit.strengths.items()}}
