"""Referrals: who refers, who arrives, what referred customers are worth, the tree,
abuse and the money.

Behavioural tests compare arms of one replication on common random numbers.
Referred customers' edges act only on the referred customers themselves, so the
first generation of referrals (made by customers who were not referred) is the
same set of people in every arm that differs only in those edges: the paired
comparisons below are on the very same customers. The base has 20,000
customers over two years and brings in about 1,000 referred customers.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from conftest import run_programmes
from sim.errors import ScenarioError
from sim.ledger import BASE as BASE_LINE
from sim.mechanics.referrals import TOP_BIT
from sim.work import BASELINE
from sim.scenario import validate

BASE = {
    "name": "referrals test", "horizon_days": 730, "start_date": "2027-01-01", "seed": 3, "replications": 1,
    "customers": {"initial": 20000, "start": "mature", "history_days": 365, "time_unit": "week",
                  "purchase": {"model": "bgnbd", "r": 0.9, "alpha": 22, "a": 1.5, "b": 6},
                  "spend": {"p": 6.25, "q": 3.74, "gamma": 658},
                  "acquisition": {"per_day": 10, "cost_per_customer": 40}},
    "economics": {"gross_margin": 0.35},
}
REFER = {"referrals": {"referrer_bonus": 100, "friend_discount": 100, "rate_per_order": 0.03}}


def programme(block=REFER, base=BASE, **settings):
    p = copy.deepcopy(block)
    beh = settings.pop("behaviour", None)
    p["referrals"].update(settings)
    if beh:
        p["referrals"]["behaviour"] = beh
    return validate({**base, "programme": p}).cfg.programme


def run(programmes, base=BASE):
    return run_programmes(programmes, base)


@pytest.fixture(scope="module")
def arms():
    return run({
        "default": programme(),
        "no_retention_edge": programme(behaviour={"retention_edge": 0.0}),
        "no_margin_edge": programme(behaviour={"margin_edge": 0.0}),
        "no_similarity": programme(behaviour={"similarity": 0.0}),
    })


def ref(model):
    return model.mechanic("referrals")


def first_generation(model):
    """Referred customers who arrived, were real, and whose referrer was not referred: (slots, uids)."""
    r = ref(model)
    c = model.customers
    kids = r._kids[: r._n_kids]
    kids = kids[c.present[kids] & ~r.fake[kids]]
    kids = kids[r.referrer[r.referrer[kids]] < 0]
    order = np.argsort(c.uid[kids])
    return kids[order], c.uid[kids][order]


# --------------------------------------------------------------------------- switched off

def test_switched_off_is_exactly_the_baseline():
    off = copy.deepcopy(REFER)
    off["referrals"]["enabled"] = False
    models = run({"off": programme(off)}, base={**BASE, "horizon_days": 365})
    assert not models["off"].mechanics
    for k in ("orders", "revenue", "active_end", "alive_end", "new_customers"):
        assert np.array_equal(models["off"].monthly[k], models[BASELINE].monthly[k]), k


# --------------------------------------------------------------------------- who arrives

@pytest.mark.slow
def test_referred_uids_are_deterministic_and_never_organic(arms):
    m = arms["default"]
    r, c = ref(m), m.customers
    kids = r._kids[: r._n_kids]
    uids = c.uid[kids]
    assert kids.size > 500
    assert np.all(uids & TOP_BIT)                          # top bit set: disjoint from organic uids
    assert np.unique(uids).size == uids.size               # no clashes
    organic = c.uid[: c.n][r.referrer[: c.n] < 0]
    assert not np.any(organic & TOP_BIT)
    # a pure function of the referrer's uid and referral number
    refs = r.referrer[kids]
    again = m.streams["referrals.uid"].bits(c.uid[refs], np.zeros(kids.size, np.uint64)) | TOP_BIT
    firsts = np.isin(uids, again)
    assert firsts.sum() >= np.unique(refs).size            # every referrer's first friend is reproduced
    # and the same in an arm that differs only in an effect on referred customers
    _, u1 = first_generation(arms["default"])
    _, u2 = first_generation(arms["no_retention_edge"])
    assert np.array_equal(u1, u2)


def test_friends_resemble_their_referrers(arms):
    def corr(model):
        r, c = ref(model), model.customers
        kids, _ = first_generation(model)
        return np.corrcoef(np.log(c.lam[kids]), np.log(c.lam[r.referrer[kids]]))[0, 1]
    # similarity 0.5 blends half of the referrer's rate in; ~800 pairs give a correlation SE ~0.035
    assert corr(arms["default"]) > 0.3
    assert abs(corr(arms["no_similarity"])) < 0.12
    # and they share the referrer's segment
    m = arms["default"]
    kids, _ = first_generation(m)
    assert np.array_equal(m.customers.segment[kids], m.customers.segment[ref(m).referrer[kids]])


# --------------------------------------------------------------------------- what they are worth

def test_retention_edge_only_while_the_referrer_stays(arms):
    """Van den Bulte et al. (2018): referrals churn less only as long as their referrer has not churned."""
    m = arms["default"]
    r, c = ref(m), m.customers
    kids, _ = first_generation(m)
    stays = c.alive[r.referrer[kids]]
    assert stays.sum() > 100 and (~stays).sum() > 100     # both kinds exist at the end of two years
    edge = 1.0 - r.b.retention_edge                       # 0.82: 18% less likely to leave
    assert np.allclose(r.dropout[kids[stays]], edge)      # the edge ...
    assert np.all(r.dropout[kids[~stays]] == 1.0)         # ... gone with the referrer
    assert np.allclose(c.dropout_mult[kids[stays & c.alive[kids]]], edge)  # and in the hazard the engine uses


def test_retention_edge_follows_the_referrer_through_dropout_and_revival(arms):
    """Drop a referrer out through the engine: the edge goes at once; win them back: it returns."""
    m = arms["default"]
    r, c = ref(m), m.customers
    kids, _ = first_generation(m)
    kid = kids[c.alive[r.referrer[kids]] & c.alive[kids]][0]
    parent = r.referrer[kid]
    siblings = r.children_of(np.array([parent]))
    assert kid in siblings
    m._drop_out(np.array([parent]))
    m._refresh_effects()
    assert r.dropout[kid] == 1.0 and c.dropout_mult[kid] == 1.0
    m.revive(np.array([parent]))
    m._refresh_effects()
    edge = 1.0 - r.b.retention_edge
    assert r.dropout[kid] == pytest.approx(edge) and c.dropout_mult[kid] == pytest.approx(edge)


def test_referred_customers_churn_less_while_referrers_stay(arms):
    """The same referred customers survive more often with the retention edge than without it."""
    k1, u1 = first_generation(arms["default"])
    k0, u0 = first_generation(arms["no_retention_edge"])
    assert np.array_equal(u1, u0)
    alive1 = arms["default"].customers.alive[k1].mean()
    alive0 = arms["no_retention_edge"].customers.alive[k0].mean()
    # ~1,900 customers, hazard x0.82 while the referrer stays; paired on the same chance events,
    # survival can only go up, and by a few points
    assert alive1 > alive0 + 0.01


def test_margin_edge_fades(arms):
    """Schmitt et al. (2011): referred customers' margin edge erodes over time."""
    m = arms["default"]
    r, c = ref(m), m.customers
    kids, _ = first_generation(m)
    age = m.day - 1 - c.born_day[kids]
    young, old = r.basket[kids[age < 90]], r.basket[kids[age > 540]]
    assert young.mean() > old.mean() + 0.1    # 1 + 0.25 exp(-age/365): ~1.22 vs ~1.05
    assert np.all(r.basket[kids] >= 1.0)
    # the same customers spend more per order with the edge than without it
    def check(model):
        kids, _ = first_generation(model)
        c = model.customers
        return c.horizon_spend[kids].sum() / np.maximum(c.horizon_orders[kids].sum(), 1)
    assert check(arms["default"]) > 1.08 * check(arms["no_margin_edge"])  # ~+15% on ~5,800 orders (SE ~1%)


# --------------------------------------------------------------------------- who refers

@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_bonus_and_satisfaction_raise_referring():
    models = run({"no_bonus": programme(referrer_bonus=0, friend_discount=0),
                  "bonus": programme(referrer_bonus=300, friend_discount=300)}, base={**BASE, "horizon_days": 365})
    n0 = ref(models["no_bonus"]).summary()["referrals"]
    n1 = ref(models["bonus"]).summary()["referrals"]
    # x = 600/1500 x weight: the rate rises by ~25% on average; hundreds of referrals, Poisson
    # SE ~4%; the same referrers' orders drive both arms, so the difference is sharper still
    assert n1 > 1.12 * n0
    # satisfaction: promoters refer more than neutral customers, detractors less
    r, c = ref(models["bonus"]), models["bonus"].customers
    idx = np.arange(200)
    saved = c.satisfaction[idx].copy()
    c.satisfaction[idx] = 0.0
    neutral = r._propensity(idx)
    c.satisfaction[idx] = 1.0
    promoters = r._propensity(idx)
    c.satisfaction[idx] = -1.0
    detractors = r._propensity(idx)
    c.satisfaction[idx] = saved
    assert np.all(promoters > neutral) and np.all(detractors < neutral)
    assert np.allclose(promoters / neutral, np.e)


# --------------------------------------------------------------------------- abuse, tree, money

@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_abuse_pays_for_fake_friends_who_never_buy_again():
    models = run({"abused": programme(abuse_rate=0.5)}, base={**BASE, "horizon_days": 365})
    m = models["abused"]
    r, c = ref(m), m.customers
    s = r.summary()
    kids = r._kids[: r._n_kids]
    kids = kids[c.present[kids]]
    fake = r.fake[kids]
    # half of a few hundred referrals: binomial SE ~3 pts
    assert 0.4 < fake.mean() < 0.6
    assert np.all(c.orders[kids[fake]] == 1)               # one order, never another
    assert s["fake_referrals"] == fake.sum()
    # the bonus and the friend discount were paid for every arrived friend, fakes included
    assert m.ledger.lines[("referrals", "referrer_bonuses")].sum() == pytest.approx(100 * kids.size)
    assert s["referred_customers"] == (~fake).sum()


def test_tree_summary_adds_up(arms):
    m = arms["default"]
    s = ref(m).summary()
    t = s["brought_in_by"]
    real = s["referred_customers"]
    assert t["launch_base"]["direct"] + t["acquired"]["direct"] + t["referred"]["direct"] == real
    assert t["launch_base"]["total"] + t["acquired"]["total"] == real      # every tree has a root
    assert t["launch_base"]["total"] >= t["launch_base"]["direct"]
    assert sum(s["direct_by_acquired_month"]) == t["acquired"]["direct"]
    assert sum(s["total_by_acquired_month"]) == t["acquired"]["total"]
    assert len(s["direct_by_acquired_month"]) == m.n_months
    assert s["max_generation"] >= 2
    assert s["acquisition_cost_saved"] == 40 * real


def test_costs_in_the_ledger_and_acquisition_saving_not_booked(arms):
    m = arms["default"]
    led = m.ledger
    r = ref(m)
    first_orders = r.monthly["referred_arrivals"].sum() + r.monthly["fake_arrivals"].sum()
    assert led.lines[("referrals", "referrer_bonuses")].sum() == pytest.approx(100 * first_orders)
    disc = led.lines[("referrals", "friend_discounts")].sum()
    assert 0 < disc <= 100 * first_orders
    assert {k for k in led.lines if k[0] == "referrals"} == {("referrals", "referrer_bonuses"), ("referrals", "friend_discounts")}
    assert np.allclose(led.profit(), led.total("revenue") + led.total("income") - led.total("cost"))
    assert {k[0] for k in led.lines} <= {BASE_LINE, "programme", "referrals"}
    # referred customers count as new customers acquired during the horizon
    assert m.monthly["new_customers"].sum() > arms[BASELINE].monthly["new_customers"].sum()


def test_bad_input_names_the_field():
    p = copy.deepcopy(REFER)
    p["referrals"]["rate_per_order"] = 0
    with pytest.raises(ScenarioError) as e:
        validate({**BASE, "programme": p})
    assert e.value.field == "programme.referrals.rate_per_order"
    p["referrals"]["rate_per_order"] = 1.5
    with pytest.raises(ScenarioError) as e:
        validate({**BASE, "programme": p})
    assert e.value.field == "programme.referrals.rate_per_order"


# --------------------------------------------------------------------------- library scenarios

@pytest.mark.slow  # 4 s measured: out of the fast tier (-m 'not slow')
@pytest.mark.parametrize("path", ["referrals.yaml", "strategy_referral_growth.yaml"])
def test_library_scenarios_run_and_switch_off(path):
    from conftest import small
    sc = small(path, customers=3000, days=365, reps=1)
    off = small(path, "programme.referrals.enabled=false", "programme.service.enabled=false",
                customers=3000, days=365, reps=1)
    from conftest import one_replication
    r = one_replication(sc, {"on": sc, "off": off})
    on, base, o = r["on"], r[BASELINE], r["off"]
    assert on.mechanics["referrals"]["referred_customers"] > 0
    assert on.metrics["orders"] > base.metrics["orders"]
    for k in ("orders", "revenue", "retention_rate", "active_customers_end"):
        assert o.metrics[k] == base.metrics[k], k
