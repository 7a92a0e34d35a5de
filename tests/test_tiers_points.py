"""Tier and points rules, each checked where it acts (small bases, fixed seeds)."""
import numpy as np
import pytest

from conftest import small
from sim.engine import LoyaltyModel
from sim.metrics import crr
from sim.work import launch_base


def run(sc, seed=3, programme=True):
    base = launch_base(sc, seed)
    return LoyaltyModel(sc, seed, programme=sc.cfg.programme if programme else None, customers=base).run()


def test_retention_formula_matches_the_worked_example():
    assert crr(S=262, E=371, N=153) == pytest.approx(0.832, abs=0.001)  # docs/DESIGN.md#metrics-defined-once: 83%


def test_tier_members_qualify_on_rolling_spend_and_get_their_discount():
    sc = small("tiers.yaml", customers=3000, days=240)
    m = run(sc)
    tiers = m.mechanic("tiers")
    n = m.customers.n
    present = m.customers.present[:n]
    levels = sc.cfg.programme.tiers.levels
    # nobody sits above the level their window spend qualifies them for, unless in grace or no-downgrade
    qualified = tiers.qualified_level(np.arange(n))
    above = (tiers.tier[:n] > qualified) & present
    assert (tiers.months_below[:n][above] <= sc.cfg.programme.tiers.grace_months + 1).all()
    assert (tiers.tier[:n] >= 1).sum() > 50  # some reach Silver or Gold
    assert levels[2].discount > levels[1].discount


def test_tier_discount_is_exactly_the_tier_rate_on_members_orders():
    sc = small("tiers.yaml", customers=3000, days=240)
    base = launch_base(sc, 3)
    m = LoyaltyModel(sc, 3, programme=sc.cfg.programme, customers=base)
    tiers = m.mechanic("tiers")
    seen = []

    def price_then_record(orders):
        seen.append((orders.gross.copy(), orders.discount.copy(), tiers.enrolment.member[orders.idx].copy()))
    m.order_observer = price_then_record
    m.run()
    rates = {lv.discount for lv in sc.cfg.programme.tiers.levels}
    gross = np.concatenate([x[0] for x in seen])
    disc = np.concatenate([x[1] for x in seen])
    member = np.concatenate([x[2] for x in seen])
    share = disc / gross
    # every order's discount is one of the tiers' rates, to rounding ...
    assert np.all(np.min(np.abs(share[:, None] - np.array(sorted(rates))[None, :]), axis=1) < 1e-9)
    # ... none for non-members (a member who joined at this order paid full price on it) ...
    assert (disc[~member] == 0).all() and (disc > 0).sum() > 100
    # ... and the ledger's line is their sum
    assert m.ledger.lines[("tiers", "discounts")].sum() == pytest.approx(disc.sum(), rel=1e-12)


@pytest.mark.slow  # 3 s measured: out of the fast tier (-m 'not slow')
@pytest.mark.parametrize("policy", ["none", "one_step", "reevaluate"])
def test_downgrade_policies(policy):
    sc = small("tiers.yaml", f"programme.tiers.downgrade={policy}", "programme.tiers.grace_months=0",
               customers=3000, days=500)
    base = launch_base(sc, 3)
    m = LoyaltyModel(sc, 3, programme=sc.cfg.programme, customers=base)
    t = m.mechanic("tiers")
    drops = []
    while m.day < m.last_day:
        before = t.tier[: m.customers.n].copy()
        m.step()
        after = t.tier[: before.size]
        down = after < before
        drops += list((before - after)[down])
    assert len(drops) == t.monthly["downgrades"].sum()
    if policy == "none":
        assert not drops
    elif policy == "one_step":
        assert drops and set(drops) == {1}
    else:  # re-evaluation drops straight to the level qualified for: Gold to Bronze happens
        assert drops and max(drops) == 2


def test_demotion_hurts_more_than_promotion_helps():
    """Wagner, Hennig-Thurau & Rudolph (2009): demoted customers end up less loyal than never promoted ones."""
    sc = small("tiers.yaml", "programme.tiers.grace_months=0", customers=4000, days=500)
    m = run(sc)
    t = m.mechanic("tiers")
    n = m.customers.n
    demoted = (t.demoted_day[:n] > m.day - 365) & (t.tier[:n] == 0)
    never = (~t.ever_promoted[:n]) & (t.tier[:n] == 0) & m.customers.present[:n]
    assert demoted.sum() > 10 and never.sum() > 100
    # factors relative to no programme: never-promoted Bronze = 1; demoted Bronze worse on both
    assert np.allclose(t.dropout[:n][never], 1.0)  # status 0, never demoted: no effect on dropout
    assert (t.dropout[:n][demoted] > 1.0).all()
    assert t.intensity[:n][demoted].mean() < 1.0
    gold_gain = t.intensity[:n][t.tier[:n] == 2].mean() - 1.0
    assert (1.0 - t.intensity[:n][demoted].mean()) > 0.5 * gold_gain


def test_requalification_push_acts_before_a_calendar_evaluation():
    sc = small("tiers.yaml", "programme.tiers.window=calendar", "programme.tiers.behaviour.push_days=45",
               customers=3000, days=364)
    base = launch_base(sc, 3)
    m = LoyaltyModel(sc, 3, programme=sc.cfg.programme, customers=base)
    t = m.mechanic("tiers")
    while m.day < 300:  # late October: no push yet
        m.step()
    assert not t._push_active
    early = t.intensity[: m.customers.n].copy()
    while m.day < 340:  # December: the push is on for those close to a threshold
        m.step()
    assert t._push_active
    close = t._close(np.arange(m.customers.n), m.day - 1)
    assert close.sum() > 10
    assert t.intensity[: m.customers.n][close].mean() > early[close].mean()


@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_points_caps_and_choice_redemption():
    capped = small("points_and_tiers.yaml", "programme.points.caps.per_order=20", "programme.tiers=null",
                   customers=2000, days=200)
    m = run(capped)
    p = m.mechanic("points")
    n = m.customers.n
    orders = m.customers.horizon_orders[:n].sum()
    assert p.monthly["points_issued"].sum() <= 20 * orders + 50 * n  # + welcome points
    choice = small("points_and_tiers.yaml", "programme.points.redemption.mode=choice",
                   "programme.points.redemption.choice_probability=0.3", "programme.tiers=null",
                   customers=2000, days=300)
    auto = small("points_and_tiers.yaml", "programme.tiers=null", customers=2000, days=300)
    r_choice = run(choice).mechanic("points").monthly["rewards_redeemed"].sum()
    r_auto = run(auto).mechanic("points").monthly["rewards_redeemed"].sum()
    assert 0 < r_choice < r_auto


def test_pending_points_are_not_redeemable_until_released():
    sc = small("simple_points.yaml", "programme.points.pending_days=30", customers=1500, days=20)
    m = run(sc)
    p = m.mechanic("points")
    # within the first 20 days nothing earned after launch is usable yet
    assert p.monthly["points_redeemed"].sum() == 0
    assert p.pending[: m.customers.n].sum() > 0
