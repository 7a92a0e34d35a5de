"""The fast engine against the per-agent reference model (sim/reference.py).

The reference is an independent, plain implementation of the same rules with
its own numpy random numbers, so the two agree only in distribution. For each
scenario both run the same arm on independent samples and every outcome is
held to a two-sample test at alpha = 0.001:

* orders per customer in the horizon: chi-square on the 2 x K table of binned
  counts (bins merged until every expected cell holds at least 5);
* mean gross spend per customer and mean points redeemed: two-sample z with
  unequal variances, |z| < 3.29 (per-customer spend is heavy-tailed, but its
  variance is finite for Gamma-Gamma with q > 2 and at a few thousand
  customers the mean is close to normal);
* survival (alive at the end): two-proportion z, |z| < 3.29;
* tier shares at the end: chi-square on the 2 x levels table.

Sample sizes: the reference runs N_REF customers (it manages about half a
million customer-days a second), the engine N_ENGINE, so the standard error of
a difference is ~sd / sqrt(N_REF) (1.01x it, as N_ENGINE = 25 N_REF). About 20
comparisons at alpha 0.001 give a family-wise false alarm rate near 2%; the
seeds are fixed, so a pass is reproducible.

Power, checked by breaking one rule on the reference side only
(``_outcomes(case, ref_overrides=[...])``), with the cases' programmes worth a
10% reward and responses several times their defaults (at the flagship's
evidence-sized 1% the same breaks move too little to see at this size): in
"points", goal gradient 0 fails (orders z = -3.7, points redeemed z = -4.4), no
switching cost fails survival (z = -6.5), no rewarded behaviour fails orders
(z = -5.7), no basket gain fails spend (z = -4.0), random instead of
self-selected enrolment fails points redeemed (z = -5.2); in "points_and_tiers",
a Silver earn multiplier of 1 fails the tier shares (p = 5e-13) and no
requalification push fails orders per customer (p = 0.0006). Too small to see
here, and so tested where they act (tests/test_reference_rules.py: both
implementations' factors on identical customer states, and the pending
period): loss-averse demotion (|z| < 1.2), status dilution (|z| < 1.5), status
retention (survival z = -3.3, at the edge).
"""
import numpy as np
import pytest
from scipy import stats

from conftest import SCENARIOS
from sim import scenario
from sim.reference import engine_outcomes, run_reference

N_REF = 4000
N_ENGINE = 100_000
REF_SEED, ENGINE_SEED = 20261122, 7  # independent: different generators and seeds
ALPHA = 0.001
Z_CRIT = stats.norm.isf(ALPHA / 2)  # 3.29

FRESH_YEAR = ["customers.start=fresh", "customers.acquisition.per_day=0", "horizon_days=365"]
# Programmes worth enough to move customers visibly at these sample sizes: a 10% points reward
# reached in about one order (the flagship's 1% would move too little to tell a broken rule
# from noise), enrolment partial and self-selected, joining within weeks
VALUABLE = ["programme.points.point_value=1.0", "programme.points.redemption.threshold=100",
            "programme.enrolment.share=0.7", "programme.enrolment.months_to_half=1"]
# ... and responses several times their evidence-sized defaults: the test holds two
# implementations of the same rules together, and a broken rule shows only where it moves
# customers far more than sampling noise does at these sizes
STRONG_POINTS = ["programme.points.behaviour={goal_gradient: 1.2, rewarded_behaviour: 1.0, basket_gain: 0.5, "
                 "switching_cost: 4.0, post_reward_dip: 0.3, post_reward_dropout: 0.5}"]
STRONG_TIERS = ["programme.tiers.behaviour={status_intensity: 1.0, status_basket: 0.5, status_retention: 0.6, "
                "status_worth: 0.05, requalify_push: 1.5, dilution: 1.0}"]

CASES = {
    # (a) no programme: the buy-till-you-die baseline
    "baseline_bgnbd": ("no_programme.yaml", FRESH_YEAR, "baseline"),
    "baseline_paretonbd": ("no_programme.yaml", FRESH_YEAR + [
        "customers.purchase={model: paretonbd, r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669}"], "baseline"),
    # (b) points alone: pending period, welcome points, two rewards per order, and
    # expiry short enough to bite within the year (by age and by inactivity)
    "points": ("points_and_tiers.yaml", FRESH_YEAR + VALUABLE + STRONG_POINTS + [
        "programme.tiers.enabled=false",
        "programme.points.expiry={months_after_earning: 4, inactivity_days: 90}"], "programme"),
    # (b') a stamp card: points per order, goods as the reward, a mature base with history
    "stamp_card": ("coffee_stamp_card.yaml", [
        "customers.acquisition.per_day=0", "horizon_days=180", "customers.history_days=120"], "programme"),
    # (c) points with tiers; buyers about three times as frequent as the retailer base
    # (alpha 8 weeks: ~6 orders a year while alive), a 3-month rolling window and a Gold worth
    # having (10% off), so tiers are reached and lost within the year (downgrades, loss-averse
    # demotion, the push on the customer's own projected drop)
    "points_and_tiers": ("points_and_tiers.yaml", FRESH_YEAR + VALUABLE + STRONG_POINTS + STRONG_TIERS + [
        "customers.purchase.alpha=8", "programme.tiers.window_months=3", "programme.tiers.grace_months=0",
        "programme.tiers.levels.2.discount=0.1"], "programme"),
}


def _outcomes(case, ref_overrides=()):
    path, overrides, arm = CASES[case]
    ref_sc = scenario.load(SCENARIOS / path, [*overrides, f"customers.initial={N_REF}", *ref_overrides])
    eng_sc = scenario.load(SCENARIOS / path, [*overrides, f"customers.initial={N_ENGINE}"])
    ref = run_reference(ref_sc, REF_SEED, arms=(arm,))[arm]
    eng = engine_outcomes(eng_sc, ENGINE_SEED, arm)
    return ref, eng


def _binned(a, b, edges):
    """2 x K table of counts in [edges[i], edges[i+1]), adjacent bins merged until the
    smaller sample's expected count in each is at least 5 (the chi-square rule of thumb)."""
    ca, cb = np.histogram(a, bins=edges)[0], np.histogram(b, bins=edges)[0]
    share = min(a.size, b.size) / (a.size + b.size)
    cols, acc = [], np.zeros(2)
    for x, y in zip(ca, cb):
        acc += (x, y)
        if acc.sum() * share >= 5:
            cols.append(acc)
            acc = np.zeros(2)
    if acc.sum():
        if cols:
            cols[-1] = cols[-1] + acc
        else:
            cols.append(acc)
    return np.array(cols).T


def _chi2_p(table):
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return stats.chi2_contingency(table, correction=False)[1]


def _z_means(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return 0.0 if se == 0 else (a.mean() - b.mean()) / se


def check_same_distribution(ref, eng):
    """Failures (a list of messages) of the two-sample tests between reference and engine outcomes."""
    fails = []
    edges = [0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 17, 22, 30, 45, 70, 10**9]
    p = _chi2_p(_binned(ref["orders"], eng["orders"], edges))
    if p < ALPHA:
        fails.append(f"orders per customer: chi-square p = {p:.2g} (mean {ref['orders'].mean():.3f} ref, "
                     f"{eng['orders'].mean():.3f} engine)")
    for key in ("orders", "spend", "points_redeemed"):
        z = _z_means(ref[key], eng[key])
        if abs(z) > Z_CRIT:
            fails.append(f"mean {key}: z = {z:.2f} ({ref[key].mean():.3f} ref, {eng[key].mean():.3f} engine)")
    z = _z_means(ref["alive"], eng["alive"])  # a two-proportion z with unpooled variance
    if abs(z) > Z_CRIT:
        fails.append(f"survival: z = {z:.2f} ({ref['alive'].mean():.4f} ref, {eng['alive'].mean():.4f} engine)")
    levels = int(max(ref["tier"].max(), eng["tier"].max())) + 1
    if levels > 1:
        table = np.array([np.bincount(ref["tier"], minlength=levels), np.bincount(eng["tier"], minlength=levels)])
        p = _chi2_p(table)
        if p < ALPHA:
            fails.append(f"tier shares: chi-square p = {p:.2g} (ref {table[0] / table[0].sum()}, "
                         f"engine {table[1] / table[1].sum()})")
    return fails


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_engine_matches_reference(case):
    ref, eng = _outcomes(case)
    # the scenario must exercise what it is meant to check
    if CASES[case][2] == "programme":
        assert ref["points_redeemed"].mean() > 0 and eng["points_redeemed"].mean() > 0
    if case == "points_and_tiers":
        assert (eng["tier"] > 0).mean() > 0.03 and (ref["tier"] > 0).mean() > 0.03
    fails = check_same_distribution(ref, eng)
    assert not fails, f"{case}: engine and reference disagree:\n  " + "\n  ".join(fails)


def test_reference_runs_the_same_launch_base_in_both_arms():
    """Both arms of the reference start from one launch base: same customers, same history."""
    sc = scenario.load(SCENARIOS / "points_and_tiers.yaml",
                       ["customers.initial=300", "customers.history_days=60", "horizon_days=60",
                        "customers.acquisition.per_day=0"])
    out = run_reference(sc, 3)
    assert out["baseline"]["orders"].size == out["programme"]["orders"].size == 300
    assert out["baseline"]["points_redeemed"].sum() == 0 and (out["baseline"]["tier"] == 0).all()
