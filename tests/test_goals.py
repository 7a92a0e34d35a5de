"""Goal promotions (sim/mechanics/goals.py): reach a goal within a window, get a reward.

Every check runs the hotel promotion of scenarios/evidence/wang_2016_hotel_goal.yaml at a
small size (2,000 customers, the full 24 months) against a control arm: the same customers on
the same random numbers, set the same goals with no behavioural response. Customers' orders
are common random numbers, so differences between the arms are the mechanic's effect and not
noise; where a comparison is statistical the tolerance is argued beside it.
"""
import pytest

from conftest import SCENARIOS
from sim import scenario
from sim.errors import ScenarioError
from sim.work import run_models

HOTEL = SCENARIOS / "evidence" / "wang_2016_hotel_goal.yaml"
NO_RESPONSE = {"programme.goals.behaviour.goal_gradient": 0.0, "programme.goals.behaviour.after_success": 0.0,
               "programme.goals.behaviour.after_failure": 0.0}


@pytest.fixture(scope="module")
def arms():
    sc = scenario.load(HOTEL, ["customers.initial=2000"])
    models = run_models(sc, {"promotion": sc, "control": sc.with_overrides(NO_RESPONSE)}, replication=2)
    yield models
    for m in models.values():
        m.close()


def test_a_promotion_nobody_responds_to_moves_nothing_but_costs(arms):
    base, ctrl = arms["baseline"], arms["control"]
    # no response: the same orders as no promotion at all, order for order (common random numbers)
    assert (ctrl.customers.orders[: ctrl.customers.n] == base.customers.orders[: base.customers.n]).all()
    g = ctrl.mechanic("goals")
    s = g.summary()
    # ... and the rewards of those who reached the goal anyway, each at its cost (goods: face x (1 - margin))
    assert s["goals_reached"] > 0
    cost = g.config.reward_value * (1 - ctrl.scenario.cfg.economics.gross_margin)
    booked = float(ctrl.ledger.lines[("goals", "rewards")].sum())
    assert booked == pytest.approx(s["goals_reached"] * cost)


def test_goals_are_the_customers_own_past_raised_by_the_stretch(arms):
    g = arms["promotion"].mechanic("goals")
    n = arms["promotion"].customers.n
    set_one = g.target[:n] > 0
    # customers with no stay in the pre-period are not set a goal; the rest get 1.25 x their own
    assert (g.pre[:n][set_one] > 0).all()
    assert g.target[:n][set_one] == pytest.approx(1.25 * g.pre[:n][set_one])


def test_the_push_toward_the_goal_adds_purchases_in_the_window_and_more_reach_it(arms):
    promo, ctrl = arms["promotion"].mechanic("goals"), arms["control"].mechanic("goals")
    n = arms["promotion"].customers.n
    has = promo.target[:n] > 0
    # about 1,300 customers with goals, 3 nights each in the window: the gradient (up to +g at the goal, g ~ 0.8 x
    # f(v) ~ 1) adds several per cent of nights, far more than the common-random-number noise between the arms
    assert promo.during[:n][has].sum() > 1.02 * ctrl.during[:n][has].sum()
    assert promo.summary()["reached_share"] > ctrl.summary()["reached_share"]


def test_after_the_window_success_lifts_and_failure_lowers_the_customers_buying(arms):
    promo, ctrl = arms["promotion"].mechanic("goals"), arms["control"].mechanic("goals")
    n = arms["promotion"].customers.n
    has = promo.target[:n] > 0
    won, lost = has & promo.reached[:n], has & ~promo.reached[:n]
    assert promo.post[:n][won].sum() > ctrl.post[:n][won].sum()
    assert promo.post[:n][lost].sum() < ctrl.post[:n][lost].sum()


def test_a_relative_goal_needs_its_pre_period_inside_the_horizon():
    with pytest.raises(ScenarioError, match=r"programme\.goals\.start_day"):
        scenario.load(HOTEL, ["programme.goals.start_day=100"])


def test_a_goal_for_members_needs_something_to_join():
    with pytest.raises(ScenarioError, match=r"programme\.goals\.who"):
        scenario.load(HOTEL, ["programme.goals.who=members"])


def test_a_goal_for_members_sets_goals_for_the_members_only():
    sc = scenario.load(HOTEL, ["customers.initial=1500", "horizon_days=500", "programme.goals.who=members",
                               "programme.points.earn_per_currency=0.01"])
    m = run_models(sc, {"promotion": sc})["promotion"]
    g, member = m.mechanic("goals"), m.mechanic("enrolment").member
    n = m.customers.n
    has = g.target[:n] > 0
    # the default enrolment (half the customers, self-selected) leaves many without a goal
    assert has.any() and member[:n][has].all() and has.sum() < 0.8 * (g.pre[:n] > 0).sum()
    m.close()
