"""Rules the engine-vs-reference distribution test cannot see at its sample size, checked where they act.

tests/test_reference.py holds the fast engine and the per-agent reference model
(sim/reference.py) together in distribution. At 4,000 reference customers it
cannot see a broken loss-averse demotion, status dilution or status retention
(checked by breaking each on one side: |z| < 3.3), nor the pending period. So:

* factors on identical states: customers of an engine run at a month end, with
  their tier, qualifying value by month, demotion, push, points balance and
  rewards, are copied into reference customers, and both implementations
  compute the tier and points factors; they must agree to float precision (a
  wrong dilution, demotion weight, push stake, tier worth or points value fails);
* the pending period, in both: points earned are not redeemable before it ends.
"""
import numpy as np
import pytest

from conftest import small
from sim.engine import LoyaltyModel
from sim.reference import Customer, ReferenceModel, run_reference
from sim.work import launch_base

STRONG = ["programme.points.point_value=1.0", "programme.points.redemption.threshold=100",
          "programme.enrolment.share=0.8", "programme.enrolment.months_to_half=0",
          "customers.purchase.alpha=8", "programme.tiers.window_months=3", "programme.tiers.grace_months=0",
          "programme.tiers.levels.2.discount=0.1", "programme.tiers.levels.0.status_value=0.1",
          "programme.tiers.behaviour={status_intensity: 1.0, status_basket: 0.5, status_retention: 0.6, "
          "status_worth: 0.05, requalify_push: 1.5, dilution: 0.8}"]


def _engine_at_month_end(sc, seed=4):
    """An engine programme arm stopped just after a month end (every tier factor refreshed there)."""
    m = LoyaltyModel(sc, seed, programme=sc.cfg.programme, customers=launch_base(sc, seed))
    while True:
        m.step()
        if m.day > 200 and m.calendar.is_month_end(m.day - 1):
            return m


def _reference_twin(model, rows):
    """Reference customers with the engine customers' traits and programme state."""
    sc = model.scenario
    ref = ReferenceModel(sc, 0, programme=sc.cfg.programme, base={"resp": (1.0, 1.0, 1.0), "customers": []})
    ref.day = model.day - 1
    ref.status_seek_mean = model.mechanic("tiers")._status_seek_mean
    tiers, points = model.mechanic("tiers"), model.mechanic("points")
    ref.dilution = list(tiers.dilution_factor)
    c = model.customers
    month = model.calendar.month_of(model.day - 1)
    width = tiers.ring.shape[0]
    twins = []
    for r in rows:
        x = Customer.__new__(Customer)
        x.model = ref
        for name in ("lam", "spend_shape", "spend_rate", "responsiveness", "status_seeking"):
            setattr(x, name, float(getattr(c, name)[r]))
        x.member = bool(tiers.enrolment.member[r])
        x.tier = int(tiers.tier[r])
        x.qual = float(tiers.qual[r])
        # the window's months as the reference keeps them (month -> value added)
        x.qual_by_month = {m: float(tiers.ring[m % width, r]) for m in range(month - width + 2, month + 2)}
        x.demoted_day = int(tiers.demoted_day[r])
        x.lost_worth = float(tiers.lost_worth[r])
        x.pushed_stake = 0.0
        x.balance = float(points.balance[r])
        x.pending = [(0, float(points.pending[r]))] if points.pending[r] else []
        x.rewards = int(points.rewards[r])
        x.reset_until = int(points.reset_until[r])
        twins.append(x)
    return ref, twins


def test_tier_and_points_factors_agree_on_identical_states():
    sc = small("points_and_tiers.yaml", *STRONG, customers=4000, days=365, history=120)
    m = _engine_at_month_end(sc)
    tiers, points = m.mechanic("tiers"), m.mechanic("points")
    n = m.customers.n
    member = tiers.enrolment.member[:n] & m.customers.present[:n]
    demoted = np.flatnonzero(member & (tiers.demoted_day[:n] > m.day - 365))
    pushed = np.flatnonzero(member & tiers.pushed[:n])
    gold = np.flatnonzero(member & (tiers.tier[:n] == 2))
    entry = np.flatnonzero(member & (tiers.tier[:n] == 0))[:200]
    assert demoted.size > 20 and pushed.size > 20 and gold.size > 20, (demoted.size, pushed.size, gold.size)
    assert (tiers.dilution_factor < 1.0).any()  # dilution is acting
    rows = np.concatenate([demoted, pushed, gold, entry])
    ref, twins = _reference_twin(m, rows)
    ref.push_active = False
    got = {"intensity": [], "dropout": [], "basket": [], "p_intensity": [], "p_dropout": [], "p_basket": []}
    for _r, x in zip(rows, twins):
        close = x.at_risk_rolling(m.day - 1) or x.close_to_next()
        x.tiers_refresh(stake=x.stake() if close else 0.0)
    ref.day = m.day  # the points factors are compared on the next day, when the engine refreshes them below
    for x in twins:
        x.points_refresh()
        got["intensity"].append(x.tier_intensity)
        got["dropout"].append(x.tier_dropout)
        got["basket"].append(x.tier_basket)
        got["p_intensity"].append(x.points_intensity)
        got["p_dropout"].append(x.points_dropout)
        got["p_basket"].append(x.points_basket)
    # the engine's push decision and the reference's agree customer by customer
    assert [bool(s > 0) for s in (x.pushed_stake for x in twins)] == list(tiers.pushed[rows])
    np.testing.assert_allclose(got["intensity"], tiers.intensity[rows], rtol=2e-6)
    np.testing.assert_allclose(got["dropout"], tiers.dropout[rows], rtol=2e-6)
    np.testing.assert_allclose(got["basket"], tiers.basket[rows], rtol=2e-6)
    # points factors were last refreshed at each customer's own points event; refresh the engine's
    # now too, on the same day, and compare
    points._refresh(rows)
    np.testing.assert_allclose(got["p_intensity"], points.intensity[rows], rtol=2e-6)
    np.testing.assert_allclose(got["p_dropout"], points.dropout[rows], rtol=2e-6)
    np.testing.assert_allclose(got["p_basket"], points.basket[rows], rtol=2e-6)
    # and the rules act as the literature says: demoted members end up below never-promoted ones
    assert np.mean(np.asarray(got["intensity"])[: demoted.size]) < np.mean(np.asarray(got["intensity"])[-entry.size:])


@pytest.mark.slow  # 3 s measured: out of the fast tier (-m 'not slow')
@pytest.mark.parametrize("pending, horizon", [(40, 35), (0, 35)])
def test_pending_points_wait_in_both_implementations(pending, horizon):
    sc = small("points_and_tiers.yaml", "programme.tiers.enabled=false", "programme.points.point_value=1.0",
               "programme.points.redemption.threshold=100", "programme.enrolment.share=1",
               "programme.enrolment.months_to_half=0", f"programme.points.pending_days={pending}",
               "customers.purchase.alpha=4", customers=1500, days=horizon, history=60)
    ref = run_reference(sc, 9, arms=("programme",))["programme"]
    m = LoyaltyModel(sc, 9, programme=sc.cfg.programme, customers=launch_base(sc, 9)).run()
    redeemed = m.mechanic("points").monthly["points_redeemed"].sum()
    if pending > horizon:   # nothing earned in the horizon is usable before it ends
        assert redeemed == 0 and ref["points_redeemed"].sum() == 0
    else:                   # without a pending period frequent buyers redeem within weeks
        assert redeemed > 0 and ref["points_redeemed"].sum() > 0
