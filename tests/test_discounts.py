"""The discounts mechanic: welcome discount, calendar promotions, personal offers,
conditioning, the subsidised/incremental split and the monthly budget.

Every behavioural test compares arms of one replication on common random
numbers: the same launch base and the same chance events, so an effect shows
as a paired difference, not as noise between two independent runs. The base has
20,000 customers and about 2,500 orders a month; tolerances are argued from
that below.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.ledger import BASE as BASE_LINE
from sim.mechanics.discounts import Discounts
from sim.work import run_models
from sim.scenario import validate

BASE = {
    "name": "discounts test", "horizon_days": 365, "start_date": "2027-01-01", "seed": 11, "replications": 1,
    "customers": {"initial": 20000, "start": "mature", "history_days": 365, "time_unit": "week",
                  "purchase": {"model": "bgnbd", "r": 0.9, "alpha": 22, "a": 1.5, "b": 6},
                  "spend": {"p": 6.25, "q": 3.74, "gamma": 658},
                  "segments": [{"name": "bargain", "share": 0.3, "traits": {"deal_proneness": {"a": 4, "b": 3}}},
                               {"name": "regular", "share": 0.7}],
                  "acquisition": {"per_day": 10},
                  # everyone reachable: these tests hold the mechanic's own rules; who an offer or
                  # an e-mail can reach is tests/test_reach.py's
                  "contact": {"email_opt_in": 1.0}},
    "economics": {"gross_margin": 0.35},
}

# A season of deep promotions: 30% off everything, February to April; then none.
SEASON = {"discounts": {"promotions": [
    {"name": "feb", "start": "2027-02-01", "end": "2027-02-28", "discount": 0.3},
    {"name": "mar", "start": "2027-03-01", "end": "2027-03-31", "discount": 0.3},
    {"name": "apr", "start": "2027-04-01", "end": "2027-04-30", "discount": 0.3}]}}
SEASON_MONTHS = slice(1, 4)   # Feb..Apr
DIP_MONTH = 4                 # May: the 28-day post-promotion dip
AFTER = slice(5, 12)          # Jun..Dec: full price only


def programme(block, **behaviour):
    p = copy.deepcopy(block)
    if behaviour:
        p["discounts"]["behaviour"] = behaviour
    return validate({**BASE, "programme": p}).cfg.programme


def run(programmes, seed_scenario=None):
    sc = validate(seed_scenario or BASE)
    return run_models(sc, programmes)


@pytest.fixture(scope="module")
def season():
    """One launch base, five arms: baseline, defaults, and each effect switched off."""
    return run({
        "default": programme(SEASON),
        "no_conditioning": programme(SEASON, conditioning=0),
        "no_response": programme(SEASON, elasticity=0, basket_elasticity=0),
        "no_dip": programme(SEASON, pull_forward=0),
        "waiting": programme(SEASON, waiting=0.5),  # the old seed size: the default is now 0.1
    })


def orders(model, months):
    return float(model.monthly["orders"][months].sum())


# --------------------------------------------------------------------------- switched off

def test_switched_off_is_exactly_the_baseline():
    p = copy.deepcopy(SEASON)
    p["discounts"]["enabled"] = False
    arms = run({"off": validate({**BASE, "programme": p}).cfg.programme})
    assert not arms["off"].mechanics
    for k in ("orders", "revenue", "active_end", "discounts"):
        assert np.array_equal(arms["off"].monthly[k], arms["baseline"].monthly[k]), k
    assert np.array_equal(arms["off"].ledger.profit(), arms["baseline"].ledger.profit())


# --------------------------------------------------------------------------- promotions

def test_promotion_raises_orders_and_baskets(season):
    base, on, flat = season["baseline"], season["default"], season["no_response"]
    # ~7,800 baseline orders in the season: Poisson noise of a ratio is ~1.1% per arm, and
    # the arms share their history up to the first promotion day. Expected bump with the
    # defaults: 1.75 x 0.3 x order-weighted w (~0.7) = ~+35%; +15% is a wide margin.
    assert orders(on, SEASON_MONTHS) > 1.15 * orders(base, SEASON_MONTHS)
    # with the response switched off the promotion only changes prices: no bump in orders
    assert orders(flat, SEASON_MONTHS) == pytest.approx(orders(base, SEASON_MONTHS), rel=1e-9)
    # baskets: 0.5 x 0.3 x w = ~+10% (order values have CV ~0.8 over ~10,000 orders: ~1% noise)
    check = lambda m: m.monthly["revenue"][SEASON_MONTHS].sum() / m.monthly["orders"][SEASON_MONTHS].sum()
    assert check(on) > 1.05 * check(base)
    assert check(flat) == pytest.approx(check(base), rel=1e-9)


def test_post_promotion_dip(season):
    # The dip gives back about a third of the bump (~35% / 3 = ~12% of May's orders);
    # with pull_forward 0 there is none. Same customers, same chance events: 5% is 4 sd of
    # the ~1.3% Poisson noise in one month's ~2,600 orders.
    assert orders(season["default"], DIP_MONTH) < 0.95 * orders(season["no_dip"], DIP_MONTH)
    # outside the dip the two arms agree closely (the dip only moves timing)
    assert orders(season["default"], SEASON_MONTHS) == orders(season["no_dip"], SEASON_MONTHS)


def test_discount_conditioning_lowers_full_price_purchasing_after_the_season(season):
    """Elberg et al. (2019), Mela, Jedidi & Bowman (1998): after deep discounts customers wait for deals."""
    base, on, plain = season["baseline"], season["waiting"], season["no_conditioning"]
    after_base, after_on, after_plain = orders(base, AFTER), orders(on, AFTER), orders(plain, AFTER)
    # ~17,500 full-price orders from June on: each arm's count has ~0.8% Poisson noise, and
    # the arms' histories diverge after the season, so a difference has ~1.1% noise. At waiting
    # 0.5 the expected effect is ~-7% (0.5 x gain ~0.1 / 0.3 for the ~40% who got a discount);
    # the default, 0.1 (the sign is known, the size is not), gives ~-1.4%, inside the noise here,
    # so the rule is held at 0.5 and the default only for its direction against 0.5
    assert after_on < 0.96 * after_base
    assert after_on < 0.96 * after_plain
    assert orders(season["default"], AFTER) > after_on
    # without conditioning, full-price purchasing returns to the baseline's (within noise)
    assert after_plain == pytest.approx(after_base, rel=0.04)
    # and it shows in the state: deal proneness grew
    d = on.mechanic("discounts")
    assert d.monthly["deal_proneness_gain_mean"][4] > 0.01
    assert plain.mechanic("discounts").monthly["deal_proneness_gain_mean"][4] == 0


def test_conditioning_raises_the_response_to_the_next_promotion(season):
    d = season["default"].mechanic("discounts")
    c = season["default"].customers
    got = np.flatnonzero(d.gain[: c.n] > 0)
    assert got.size > 1000
    # a conditioned customer's response weight exceeds their unconditioned weight
    raw = np.minimum(c.responsiveness[got] * c.deal_proneness[got] / d.dp_mean, 5.0)
    assert (d.weight(got) >= raw - 1e-6).all() and (d.weight(got) > raw).mean() > 0.9


# --------------------------------------------------------------------------- costs

def test_subsidised_and_incremental_split(season):
    on = season["default"].mechanic("discounts").summary()
    flat = season["no_response"].mechanic("discounts").summary()
    # with no response every discounted order would have happened anyway
    assert flat["discounts_incremental"] == pytest.approx(0.0, abs=1e-6)
    assert flat["subsidised_share"] == pytest.approx(1.0)
    # with the default response the subsidised share is 1 / boost: a 30% deal at w ~1
    # boosts about 1.5x, so roughly two thirds of the money is subsidised
    assert 0.5 < on["subsidised_share"] < 0.9
    assert on["discounts_subsidised"] + on["discounts_incremental"] == pytest.approx(on["discounts_given"])


def test_ledger_balances_and_lines_belong_to_discounts(season):
    for name in ("default", "no_response"):
        m = season[name]
        led = m.ledger
        total = led.total("revenue") + led.total("income") - led.total("cost")
        assert np.allclose(led.profit(), total)
        assert np.allclose(led.total("revenue"), m.monthly["revenue"])  # sales booked at list price
        mechanics = {k[0] for k in led.lines}
        assert mechanics <= {BASE_LINE, "programme", "discounts"}
        booked = led.lines[("discounts", "discounts_subsidised")] + led.lines[("discounts", "discounts_incremental")]
        # every discount on an order is booked by the mechanic that gave it, month by month
        assert np.allclose(booked, m.monthly["discounts"])


def test_budget_per_month_stops_discounting():
    p = copy.deepcopy(SEASON)
    p["discounts"]["budget_per_month"] = 150000.0
    arms = run({"capped": programme(p), "free": programme(SEASON)})
    d = arms["capped"].mechanic("discounts")
    given = d.monthly["discounts_given"]
    assert (given <= 150000.0 + 1e-6).all()
    assert given[SEASON_MONTHS].min() > 100000  # it did discount up to near the cap
    assert d.monthly["budget_suspended_days"][SEASON_MONTHS].min() > 0
    assert arms["free"].mechanic("discounts").monthly["discounts_given"][SEASON_MONTHS].min() > 150000
    # a suspended promotion is pulled: fewer orders than the uncapped season
    assert orders(arms["capped"], SEASON_MONTHS) < orders(arms["free"], SEASON_MONTHS)


# --------------------------------------------------------------------------- welcome and offers

def test_welcome_discount_only_on_new_customers_first_orders():
    p = {"discounts": {"welcome": {"discount": 0.1, "cap": 100.0}}}
    m = run({"w": programme(p)})["w"]
    d = m.mechanic("discounts")
    new = float(m.monthly["new_customers"].sum())
    assert new > 3000
    # one welcome discount per new customer (each makes a first order on arrival); none for the launch base
    assert d.summary()["discounted_orders"] == new
    assert d.summary()["welcome_discounts"] == pytest.approx(d.summary()["discounts_given"])
    # 10% of ~1500 would be 150: the cap binds for most, never exceeded
    assert d.summary()["discounts_given"] <= 100.0 * new + 1e-6
    assert d.summary()["discounts_given"] > 0.6 * 100.0 * new
    assert d.summary()["subsidised_share"] == 1.0


def test_segment_promotion_reaches_only_its_segment():
    p = {"discounts": {"promotions": [{"name": "bargain week", "start": "2027-03-01", "end": "2027-03-31",
                                       "discount": 0.25, "segment": "bargain"}]}}
    arms = run({"p": programme(p)})
    m, base = arms["p"], arms["baseline"]
    c = m.customers
    seg = c.segment[: c.n]
    # the regular segment never got a promotion discount, so its deal proneness never moved
    d = m.mechanic("discounts")
    assert (d.gain[: c.n][seg == 1] == 0).all()
    assert (d.gain[: c.n][seg == 0] > 0).sum() > 300

    def march(mm, s):  # orders in March (month 2 of the 12-month ring, not yet overwritten)
        cc = mm.customers
        return float(cc.month_orders[2, : cc.n][cc.segment[: cc.n] == s].sum())
    # bargain hunters (w ~1.9) respond ~1.75 x 0.25 x 1.9 = +80%; their ~400 March orders
    # have ~5% noise, so +30% is safe. Regular customers saw nothing: exactly the baseline.
    # a 20% deal for an average customer: elasticity x 0.1 x f(0.2) = 1.75 x 0.1 x 1.33 = +23%
    # intensity (the value form saturates deep deals), less the March days before it starts
    assert march(m, 0) > 1.12 * march(base, 0)
    assert march(m, 1) == march(base, 1)


def test_churn_risk_and_rfm_targeting():
    sc = validate({**BASE, "programme": {"discounts": {"personal_offers": [
        {"name": "lapsing", "target": "churn_risk", "risk_min": 2.0, "discount": 0.15}]}}})
    from sim.engine import LoyaltyModel
    from sim.work import launch_base
    model = LoyaltyModel(sc, 5, programme=sc.cfg.programme, customers=launch_base(sc, 5), first_day=0)
    d = model.mechanic("discounts")
    c = model.customers
    rows = np.flatnonzero(c.present[: c.n])
    risk = d.churn_risk(rows, 0)
    since = -c.last_order_day[rows].astype(float)
    # risk is the gap since the last order over the customer's own usual gap
    k = c.orders[rows]
    rep = k >= 3
    usual = (c.last_order_day[rows] - c.born_day[rows])[rep] / (k[rep] - 1)
    assert np.allclose(risk[rep], since[rep] / np.maximum(usual, 1.0))
    targets = d._targets(0, sc.cfg.programme.discounts.personal_offers[0], 0)
    assert set(targets) == set(rows[risk >= 2.0])
    score = d.rfm_score(rows, 0)
    assert score.min() >= 3 and score.max() == 15
    # the most recent buyers score top recency: their scores beat the longest-lapsed
    order = np.argsort(since)
    assert score[order[:500]].mean() > score[order[-500:]].mean() + 3


def test_personal_offers_pull_purchases_and_are_used_once():
    p = {"discounts": {"personal_offers": [{"name": "bargain 20", "target": "segment", "segment": "bargain",
                                            "discount": 0.2, "valid_days": 14, "every_days": 60, "cooldown_days": 60,
                                            "contact_cost": 0.05}]}}
    arms = run({"on": programme(p), "flat": programme(p, elasticity=0, basket_elasticity=0)})
    on, flat = arms["on"].mechanic("discounts"), arms["flat"].mechanic("discounts")
    s = on.summary()
    assert s["offers_sent"] > 20000 and 0 < s["offers_used"] <= s["offers_sent"]
    assert s["offers_used"] == s["discounted_orders"]      # one use per offer
    # the response: 1.75 x 0.2 x w (~1.9 for bargain hunters) = ~+65% while the offer is valid,
    # ~+15% over the year for the ~6,000 bargain customers (~3,000 orders/yr: noise ~2%)
    assert s["offers_used"] > 1.1 * flat.summary()["offers_used"]
    assert arms["on"].ledger.lines[("discounts", "offer_contacts")].sum() == pytest.approx(0.05 * s["offers_sent"])


# --------------------------------------------------------------------------- input checks

@pytest.mark.parametrize("block, field", [
    ({"promotions": [{"name": "x", "start": "2027-03-10", "end": "2027-03-01", "discount": 0.2}]}, "promotions[0].end"),
    ({"promotions": [{"name": "x", "start": "2027-03-01", "end": "2027-03-10", "discount": 0.2, "segment": "vip"}]},
     "promotions[0].segment"),
    ({"promotions": [{"name": "x", "start": "2027-03-01", "end": "2027-03-10", "discount": 0}]}, "promotions[0].discount"),
    ({"personal_offers": [{"name": "x", "target": "segment", "discount": 0.1}]}, "personal_offers[0].segment"),
    ({"personal_offers": [{"name": "x", "target": "rfm", "rfm_min": 12, "rfm_max": 5, "discount": 0.1}]},
     "personal_offers[0].rfm_min"),
    ({"welcome": {"discount": 1.5}}, "welcome.discount"),
])
def test_bad_input_names_the_field(block, field):
    with pytest.raises(ScenarioError) as e:
        validate({**BASE, "programme": {"discounts": block}}, file="s.yaml")
    assert e.value.field == f"programme.discounts.{field}"


def test_promotions_outside_the_horizon_are_ignored():
    # the same plan run over a shorter horizon: later promotions simply do not happen
    p = {"discounts": {"promotions": [{"name": "later", "start": "2029-03-01", "end": "2029-03-10", "discount": 0.2}]}}
    arms = run({"p": programme(p)})
    assert np.array_equal(arms["p"].monthly["orders"], arms["baseline"].monthly["orders"])
    assert arms["p"].mechanic("discounts").summary()["discounts_given"] == 0


def test_schema_defaults_name_their_sources():
    for name, spec in Discounts.SCHEMA.fields["behaviour"].fields.items():
        text = getattr(spec, "source", "") + " " + spec.doc
        assert any(w in text for w in ("19", "20", "seed")), name


# --------------------------------------------------------------------------- the library's strategy scenario

def test_discount_heavy_strategy_loses_over_two_years_while_the_dashboard_looks_fine():
    from pathlib import Path

    from sim.scenario import load
    path = Path(__file__).resolve().parents[1] / "scenarios" / "strategy_discount_heavy.yaml"
    sc = load(path)
    from conftest import one_replication

    def cumulative(arms):
        return np.cumsum(arms["p"].monthly["profit"].to_numpy() - arms["baseline"].monthly["profit"].to_numpy())
    for rep in (0, 1):
        arms = one_replication(sc, {"p": sc}, rep)
        cum = cumulative(arms)
        # month 24 at about -2.9m on replication 0 (with all customers reachable, -1.3m): tens of
        # standard deviations from zero
        assert cum[23] < -1_000_000, rep
        assert arms["p"].metrics["orders"] > arms["baseline"].metrics["orders"]    # the dashboard looks fine
        assert arms["p"].metrics["revenue"] > arms["baseline"].metrics["revenue"]
    # the first quarter looks good only when the e-mail chains reach (nearly) everyone: their orders
    # carry it. At the default reach (members and the 30% who opted in; no enrolment here) it is
    # already behind: on replication 0, +63k against -96k
    everyone = load(path, ["customers.contact.email_opt_in=1.0"])
    assert cumulative(one_replication(everyone, {"p": everyone}, 0))[2] > 0
