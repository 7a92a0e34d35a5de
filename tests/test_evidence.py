"""Answers as big as the evidence says: effects follow what a programme gives, the flagship lands
where causal studies put a 1% programme, self-selection is reported, retention is one number."""
import numpy as np
import pytest

import sim
from conftest import SCENARIOS, small
from sim.engine import LoyaltyModel
from sim.work import launch_base, run_models


@pytest.fixture(scope="module")
def flagship():
    """The flagship as written (20,000 customers, 730 days), four replications."""
    return sim.run(SCENARIOS / "points_and_tiers.yaml", replications=4, workers=2)


@pytest.mark.slow
def test_flagship_lift_is_where_the_evidence_puts_a_one_percent_programme(flagship):
    # Leenheer et al. 2007, Zhang & Breugelmans 2012 (~4%), Nastasoiu et al. 2021 (1.7%),
    # McKinsey 2013 (+5% to break even): a few percent in sales, near break-even over two years
    doc = flagship.summary()
    revenue = doc["lift"]["revenue"]["relative"]
    assert 0.01 < revenue["mean"] < 0.12, revenue
    assert revenue["ci_low"] > 0  # and it is measurably above zero
    # near break-even: the incremental profit is within a few percent of the baseline's profit
    incr = doc["economics"]["incremental_profit"]["mean"]
    assert abs(incr) < 0.05 * doc["baseline"]["profit"], incr


def test_self_selection_makes_the_members_gap_overstate_the_effect(flagship):
    gap = flagship.summary()["naive_member_gap"]
    spend = gap["spend"]
    # members spend far more than non-members, but mostly because heavier buyers joined
    assert spend["naive_gap"] > spend["causal_effect_on_members"] > 0
    assert spend["selection_share"] > 0.5
    # Leenheer et al. (2007): the naive estimate is about seven times the causal one. At the
    # default selection strength this run finds 10.5 on spend (13.9 on orders; printed on
    # failure): the same order as Leenheer's, on the high side. The band is "the same order of
    # magnitude" (4-12), not a sampling interval: four replications put the ratio within a few
    # tenths of its ten-replication value (10.5 as well)
    assert 4.0 < spend["naive_to_causal_ratio"] < 12.0, spend["naive_to_causal_ratio"]
    # enrolment is partial: about half of the customers who shopped after launch joined
    assert 0.3 < gap["member_share"] < 0.7


def test_enrolment_grows_after_launch_and_stays_below_everyone():
    sc = small("points_and_tiers.yaml", customers=5000, days=365, history=365)
    m = run_models(sc, {"p": sc})["p"]
    members = m.mechanic("enrolment").monthly["members"]
    assert (np.diff(members) >= 0).all() and members[0] < 0.6 * members[-1]
    c = m.customers
    share = m.mechanic("enrolment").member[: c.n][c.active_at_launch[: c.n]].mean()
    assert 0.2 < share < 0.6
    # who joined: heavier buyers (the customer's own purchase rate), not a random half
    joined = m.mechanic("enrolment").member[: c.n] & c.active_at_launch[: c.n]
    others = ~m.mechanic("enrolment").member[: c.n] & c.active_at_launch[: c.n]
    assert c.lam[: c.n][joined].mean() > 1.5 * c.lam[: c.n][others].mean()


@pytest.mark.slow  # 4 s measured: out of the fast tier (-m 'not slow')
@pytest.mark.parametrize("value", [0.0001])
def test_points_worth_nothing_move_nothing(value):
    sc = small("points_and_tiers.yaml", "programme.tiers.enabled=false", f"programme.points.point_value={value}",
               customers=6000, days=730, history=730, reps=2)
    lift = sim.run(sc, backend="serial").lift("orders")["relative"]["mean"]
    assert abs(lift) < 0.01, lift


@pytest.mark.slow
def test_the_orders_lift_rises_with_what_a_point_is_worth():
    lifts = []
    for value in (0.01, 0.1, 1.0):
        sc = small("points_and_tiers.yaml", "programme.tiers.enabled=false", f"programme.points.point_value={value}",
                   customers=6000, days=730, history=730, reps=2)
        lifts.append(sim.run(sc, backend="serial").lift("orders")["relative"]["mean"])
    assert lifts[0] < lifts[1] < lifts[2], lifts
    # and less than proportionally: ten times the value, less than ten times the lift
    assert lifts[2] < 10 * lifts[1], lifts


def test_one_retention_for_the_headline_the_months_and_the_segments():
    sc = small("points_and_tiers.yaml", "customers.segments=[{name: occasional, share: 0.6}, "
               "{name: regular, share: 0.4, purchase: {alpha: 11}}]", customers=4000, days=400, history=400, reps=1)
    res = sim.run(sc, backend="serial")
    seg = res.segments
    assert seg.segment.nunique() >= 2
    weights = _launch_counts(sc)
    for arm in ("baseline", "programme"):
        head = res.metrics.query("arm == @arm and metric == 'retention_rate'").value.iloc[0]
        month = res.monthly.query("arm == @arm").sort_values("month").retention_rate.iloc[-1]
        assert head == month
        # the customer-weighted mean of the segments' retention is the headline
        segs = res.records(arm)[0].metrics["segments"]
        mean = sum(segs[s]["retention_rate"] * weights[s] for s in segs) / sum(weights.values())
        assert head == pytest.approx(mean, rel=1e-12)
    # the industry's (E - N) / S is reported under its own name, and differs
    assert res.records("baseline")[0].metrics["crr_formula"] != res.records("baseline")[0].metrics["retention_rate"]


def _launch_counts(sc):
    """Customers active at launch per segment (the same launch base in both arms)."""
    c = launch_base(sc, sim.work.replication_seed(sc.cfg.seed, 0))
    n = c.n
    return {name: int((c.active_at_launch[:n] & (c.segment[:n] == i)).sum()) for i, name in enumerate(c.segment_names)}


def test_rolling_push_acts_on_the_customers_own_drop():
    """A rolling window: a Silver member is pushed when old months leaving their window will take
    them below the threshold within push_days, not merely because a month ends."""
    sc = small("tiers.yaml", "programme.enrolment.share=1", "programme.enrolment.months_to_half=0",
               "programme.tiers.window_months=12", "programme.tiers.behaviour.push_days=60",
               customers=500, days=200, history=60)
    m = LoyaltyModel(sc, 1, programme=sc.cfg.programme, customers=launch_base(sc, 1))
    while not m.calendar.is_month_end(m.day):   # stop on a month end, as the engine does
        m.step()
    t = m.mechanic("tiers")
    day = m.day
    month = m.calendar.month_of(day)
    keep = t.thresholds[1]
    rows = np.arange(4)
    t.tier[rows] = 1
    t.ring[:, rows] = 0.0
    # each holds keep + 100 now; the month that leaves before their second evaluation takes
    # 400 away (within 60 days) for rows 0 and 2, and only before their fourth for rows 1 and 3
    t.ring[(month + 2) % 12, [0, 2]] = 400.0
    t.ring[(month + 4) % 12, [1, 3]] = 400.0
    t.qual[rows] = keep + 100.0
    close = t._close(rows, day)
    assert list(close) == [True, False, True, False]
    # a customer comfortably above the threshold whatever leaves is not pushed either
    t.ring[:, rows] = 0.0
    t.qual[rows] = 3 * keep
    assert not t._close(rows, day).any()


BEHAVIOURAL_SECTIONS = ("programme.enrolment.", "response.value_half", "response.delay_half_days")


def _behavioural(field):
    return ".behaviour." in field or field.startswith(BEHAVIOURAL_SECTIONS) or field.endswith(
        ("rate_per_order", "abuse_rate", "churn_effect_negative", "churn_effect_positive"))


@pytest.mark.parametrize("path", sorted(p.name for p in SCENARIOS.glob("*.yaml")))
def test_every_default_response_names_a_source_and_a_range_in_explain(path):
    from reports.explain import rows
    sc = sim.load(SCENARIOS / path)
    found = [r for r in rows(sc) if _behavioural(r["field"]) and r["default"] is not None
             and isinstance(r["default"], float)]
    for r in found:
        assert r["source"], f"{path}: {r['field']} names no source"
        assert r["low"] is not None and r["low"] <= r["default"] <= r["high"], f"{path}: {r['field']} has no range"
    if not sc.programme_is_empty():
        assert found, path
    from conftest import invoke
    text = invoke("validate", SCENARIOS / path, "--explain").stdout
    for r in found:
        assert r["field"] in text and "Source:" in text
