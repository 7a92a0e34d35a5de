"""The campaigns mechanic: automated chains, the frequency cap, fatigue, win-back
of lapsed and dropped-out customers, offers, budgets and targeting.

Tests compare arms of one replication on common random numbers (same launch
base, same chance events), so effects show as paired differences. The base has
20,000 customers (~2,500 orders a month); tolerances are argued from the counts
involved, in comments.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.ledger import BASE as BASE_LINE
from sim.mechanics.campaigns import Campaigns
from sim.work import launch_base
from sim.engine import LoyaltyModel
from sim.scenario import validate

BASE = {
    "name": "campaigns test", "horizon_days": 365, "start_date": "2027-01-01", "seed": 7, "replications": 1,
    "customers": {"initial": 20000, "start": "mature", "history_days": 730, "time_unit": "week",
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

WIN_BACK = {"name": "win_back", "trigger": "win_back", "delay_days": 120, "messages": 3, "interval_days": 60}
# A pushy programme: a follow-up every day for ten days after each order, cart reminders, welcome series.
PUSHY = [
    {"name": "welcome", "trigger": "welcome", "delay_days": 1, "messages": 3, "interval_days": 2},
    {"name": "nag", "trigger": "post_purchase", "delay_days": 1, "messages": 10, "interval_days": 1},
    {"name": "cart", "trigger": "reminder", "delay_days": 1},
]


def programme(chains, **extra):
    block = {"campaigns": {"chains": copy.deepcopy(chains), **extra}}
    return validate({**BASE, "programme": block}).cfg.programme


def full_programme(block):
    return validate({**BASE, "programme": block}).cfg.programme


def run(programmes, logs=()):
    """Run arms on one launch base; arms named in ``logs`` record every send."""
    sc = validate(BASE)
    seed = 12345
    base = launch_base(sc, seed)
    out = {"baseline": LoyaltyModel(sc, seed, programme=None, customers=base.copy(), first_day=0).run()}
    for name, prog in programmes.items():
        m = LoyaltyModel(sc, seed, programme=prog, customers=base.copy(), first_day=0)
        if name in logs:
            m.mechanic("campaigns").send_log = []
        out[name] = m.run()
    return out


def camp(model):
    return model.mechanic("campaigns")


# --------------------------------------------------------------------------- switched off

def test_switched_off_is_exactly_the_baseline():
    block = {"campaigns": {"enabled": False, "chains": [WIN_BACK]}}
    arms = run({"off": full_programme(block)})
    assert not arms["off"].mechanics
    for k in ("orders", "revenue", "active_end", "alive_end"):
        assert np.array_equal(arms["off"].monthly[k], arms["baseline"].monthly[k]), k
    assert np.array_equal(arms["off"].ledger.profit(), arms["baseline"].ledger.profit())


# --------------------------------------------------------------------------- frequency cap and fatigue

@pytest.fixture(scope="module")
def pushy():
    return run({
        "capped": programme(PUSHY, frequency_cap=4),
        "uncapped": programme(PUSHY, frequency_cap=None),
        "no_fatigue": programme(PUSHY, frequency_cap=None,
                                fatigue={"response": 0, "unsubscribe": 0, "dropout": 0}),
    }, logs=("capped", "uncapped"))


def sends_per_customer(log):
    days = np.concatenate([np.full(idx.size, d) for d, _, idx in log])
    who = np.concatenate([idx for _, _, idx in log])
    order = np.lexsort((days, who))
    return who[order], days[order]


@pytest.mark.slow  # 4 s measured: out of the fast tier (-m 'not slow')
def test_frequency_cap_holds(pushy):
    cap, window = 4, 30
    who, days = sends_per_customer(camp(pushy["capped"]).send_log)
    # the (k+cap)-th message of a customer comes at least `window` days after the k-th
    same = who[cap:] == who[:-cap]
    assert (days[cap:][same] - days[:-cap][same] >= window).all()
    assert camp(pushy["capped"]).summary()["capped"] > 1000
    # without the cap the same chains do exceed it: the test above has teeth
    who_u, days_u = sends_per_customer(camp(pushy["uncapped"]).send_log)
    same_u = who_u[cap:] == who_u[:-cap]
    assert (days_u[cap:][same_u] - days_u[:-cap][same_u] < window).sum() > 1000


def test_fatigue_lowers_response_and_raises_unsubscribes(pushy):
    tired = camp(pushy["uncapped"]).summary()
    fresh = camp(pushy["no_fatigue"]).summary()
    # ~10 messages within two weeks of each order: pressure ~9, excess ~5, response x 1/(1 + 0.25 x 5)
    # = ~0.45 for most nagging messages. ~300,000 messages with ~1-2% response: thousands of
    # responses each, so a 15% gap is many standard errors.
    assert tired["response_rate"] < 0.85 * fresh["response_rate"]
    # unsubscribes x (1 + 0.5 x excess): ~2-3x the base 0.26%
    assert tired["unsubscribed"] > 1.5 * fresh["unsubscribed"]
    # over-contacted customers carry a (slightly) higher dropout hazard while the pressure lasts
    c = pushy["uncapped"].customers
    assert (camp(pushy["uncapped"]).dropout[: c.n] > 1.0).any()
    assert not (camp(pushy["no_fatigue"]).dropout[: c.n] > 1.0).any()
    # the cap protects customers from fatigue: fewer messages, higher response per message
    capped = camp(pushy["capped"]).summary()
    assert capped["messages"] < 0.6 * tired["messages"]
    assert capped["response_rate"] > tired["response_rate"]


# --------------------------------------------------------------------------- win-back

@pytest.fixture(scope="module")
def win_back():
    flat = dict(WIN_BACK, response_half_life_days=1e9)
    return run({"on": programme([WIN_BACK], frequency_cap=None), "flat": programme([flat], frequency_cap=None),
                "silent": programme([dict(WIN_BACK, response=0.0)], frequency_cap=None)})


@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_win_back_reaches_lapsed_and_dropped_out_customers(win_back):
    on, base, silent = win_back["on"], win_back["baseline"], win_back["silent"]
    s = camp(on).summary()
    # the launch blast reaches everyone away for 120+ days, most of them latently gone:
    # a BG/NBD base of 20,000 has thousands of dropped-out customers, ~2% x decay respond
    assert s["revived"] > 50
    assert s["chains"]["win_back"]["revived"] == s["revived"]
    # revived customers are alive at the end more often than in the baseline
    alive_on = on.monthly["alive_end"][-1]
    assert alive_on > base.monthly["alive_end"][-1] + 0.5 * s["revived"] - 3 * np.sqrt(s["revived"])
    assert on.monthly["orders"].sum() > base.monthly["orders"].sum() + s["responses"] * 0.8
    # with a response of 0 nobody comes back and nothing changes but the contact cost
    assert camp(silent).summary()["revived"] == 0
    assert np.array_equal(silent.monthly["orders"], base.monthly["orders"])


def test_win_back_response_falls_with_the_gap(win_back):
    on = camp(win_back["on"]).summary()
    flat = camp(win_back["flat"]).summary()
    rate, sent = np.array(on["win_back_response_by_gap"]), np.array(on["win_back_sent_by_gap"])
    assert sent[0] > 3000 and sent[4] > 1500   # 0-30 and 365-730 days past the delay
    # halving every 180 days: 365-730 days past responds at ~0.5^2.5 = ~0.18 of 0-30 days past;
    # ~70 responses in the first bucket (sd ~12%), so 0.5 leaves a wide margin
    assert rate[4] < 0.5 * rate[0]
    assert rate[0] > rate[2] > rate[4]
    # without the decay the response does not fall with the gap (light buyers, who lapse longer,
    # are if anything more responsive)
    rf = np.array(flat["win_back_response_by_gap"])
    assert rf[4] > 0.7 * rf[0]


# --------------------------------------------------------------------------- responses and offers

@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_responses_bring_orders_and_offers_split_costs():
    chains = [{"name": "welcome", "trigger": "welcome", "delay_days": 1, "offer": {"discount": 0.1, "valid_days": 14}},
              {"name": "follow_up", "trigger": "post_purchase", "delay_days": 30,
               "offer": {"discount": 0.1, "valid_days": 14}}]
    zero = [dict(ch, response=0.0) for ch in chains]
    arms = run({"on": programme(chains), "zero": programme(zero)})
    on, zero_m = arms["on"], arms["zero"]
    s, z = camp(on).summary(), camp(zero_m).summary()
    # ~30,000 follow-ups at ~1% and ~3,600 welcomes at ~2.3% (x ~1.2 for the offer): ~400 responses
    assert s["responses"] > 200 and z["responses"] == 0
    # a response pulls a purchase into today: more orders than with no response (paired)
    assert on.monthly["orders"].sum() > zero_m.monthly["orders"].sum() + 0.5 * s["responses"]
    led = on.ledger
    inc = led.lines[("campaigns", "offers_incremental")].sum()
    sub = led.lines[("campaigns", "offers_subsidised")].sum()
    assert inc > 0 and sub > 0
    # with no response every offer used is on an order that would have happened anyway
    assert zero_m.ledger.lines[("campaigns", "offers_incremental")].sum() == 0
    assert zero_m.ledger.lines[("campaigns", "offers_subsidised")].sum() > 0
    # all order discounts here are campaign offers, booked in the month they were used
    assert np.allclose(led.lines[("campaigns", "offers_incremental")] + led.lines[("campaigns", "offers_subsidised")],
                       on.monthly["discounts"])
    assert led.lines[("campaigns", "contact")].sum() == pytest.approx(0.02 * s["messages"])


def test_chain_budget_per_month():
    chains = [dict(PUSHY[1], budget_per_month=100.0, contact_cost=0.05)]
    m = run({"b": programme(chains, frequency_cap=None)})["b"]
    cost = camp(m).by_chain["nag"]["cost"]
    assert (cost <= 100.0 + 1e-9).all()
    assert (cost >= 100.0 - 0.05).sum() >= 10   # the budget binds nearly every month


def test_birthday_once_a_year_on_the_drawn_day():
    chains = [{"name": "birthday", "trigger": "birthday", "delay_days": 0}]
    m = run({"b": programme(chains, frequency_cap=None)}, logs=("b",))["b"]
    log = camp(m).send_log
    who = np.concatenate([idx for _, _, idx in log])
    days = np.concatenate([np.full(idx.size, d) for d, _, idx in log])
    assert np.unique(who).size == who.size          # one birthday in a 365-day horizon
    c = m.customers
    doy = 1 + np.floor(m.streams["campaigns.birthday"].uniform(c.uid[who], 0) * 365).astype(int)
    cal = np.array([m.calendar.day_of_year(int(d)) for d in days])
    assert (doy == cal).all()
    # everyone present and subscribed at their birthday gets it: ~all of the base and arrivals
    assert who.size > 0.95 * c.present[: c.n].sum() - camp(m).summary()["unsubscribed"] - 3700


@pytest.mark.slow  # 3 s measured: out of the fast tier (-m 'not slow')
def test_anniversary_grants_points_when_points_run():
    points = {"earn_per_currency": 0.1, "point_value": 0.1, "redemption": {"threshold": 500}}
    chain = {"name": "anniversary", "trigger": "anniversary", "delay_days": 0, "bonus_points": 100,
             "offer": {"discount": 0.1}}
    arms = run({"with": full_programme({"points": points, "campaigns": {"chains": [chain]}}),
                "without": full_programme({"points": points})})
    issued = lambda m: m.mechanic("points").summary()["points_issued"]
    summary = camp(arms["with"]).summary()
    sent = summary["messages"]
    assert sent > 10000
    # 100 points per message to a member (points go to members only; anniversaries reach every
    # customer, lapsed ones included, and few of those joined), give or take what responses
    # earned and the different paths afterwards (~1% of issued points)
    granted = summary["bonus_points"]
    assert 0 < granted < 100 * sent and granted % 100 == 0
    assert issued(arms["with"]) - issued(arms["without"]) == pytest.approx(granted, rel=0.1)
    # with points running, the bonus replaces the offer: no campaign discounts
    assert camp(arms["with"]).summary()["offers_used"] == 0
    # ... and without points the offer goes out instead
    alone = run({"a": programme([chain])})["a"]
    assert camp(alone).summary()["offers_used"] > 100


def test_tier_and_segment_targeting():
    tiers = {"qualify_on": "spend", "levels": [{"name": "Bronze", "threshold": 0},
                                               {"name": "Gold", "threshold": 3000, "status_value": 1.0}]}
    chains = [{"name": "gold_thanks", "trigger": "post_purchase", "delay_days": 7, "target": {"tiers": ["Gold"]}},
              {"name": "bargain_cart", "trigger": "reminder", "delay_days": 1, "target": {"segments": ["bargain"]}}]
    sc = validate({**BASE, "programme": {"tiers": tiers, "campaigns": {"chains": chains}}})
    seed = 3
    m = LoyaltyModel(sc, seed, programme=sc.cfg.programme, customers=launch_base(sc, seed), first_day=0)
    tm = m.mechanic("tiers")

    class Log(list):  # record the recipients' tier at the moment of sending
        def append(self, item):
            day, j, idx = item
            super().append((day, j, idx, tm.tier[idx].copy()))
    camp(m).send_log = Log()
    m.run()
    log = camp(m).send_log
    gold = [t for _, j, _, t in log if j == 0]
    cart = np.concatenate([idx for _, j, idx, _ in log if j == 1])
    assert sum(t.size for t in gold) > 500 and all((t == 1).all() for t in gold)
    assert cart.size > 1000 and (m.customers.segment[cart] == 0).all()


def test_reminders_follow_browsing():
    chains = [{"name": "cart", "trigger": "reminder", "delay_days": 1, "response": 0.0}]
    arms = run({"r": programme(chains, frequency_cap=None)})
    sent = camp(arms["r"]).summary()["messages"]
    repeat = arms["baseline"].monthly["repeat_orders"].sum()
    # 2.3 sessions without a purchase per order (Baymard's 70% abandonment), less the few
    # followed by an order the same or next day: ~2.2x the repeat orders, give or take 15%
    assert 1.8 * repeat < sent < 2.6 * repeat


# --------------------------------------------------------------------------- everything together

def test_ledger_balances_and_every_line_is_attributed():
    block = {
        "discounts": {"promotions": [{"name": "spring", "start": "2027-04-01", "end": "2027-04-20", "discount": 0.2}]},
        "points": {"earn_per_currency": 0.1, "point_value": 0.1},
        "tiers": {"levels": [{"name": "Bronze", "threshold": 0}, {"name": "Gold", "threshold": 4000, "discount": 0.03}]},
        "campaigns": {"chains": [WIN_BACK | {"offer": {"discount": 0.15}},
                                 {"name": "birthday", "trigger": "birthday", "offer": {"discount": 0.1}}]},
    }
    m = run({"all": full_programme(block)})["all"]
    led = m.ledger
    assert np.allclose(led.profit(), led.total("revenue") + led.total("income") - led.total("cost"))
    owners = {k[0] for k in led.lines}
    assert owners <= {BASE_LINE, "programme", "discounts", "points", "tiers", "campaigns"}
    for name in ("discounts", "campaigns"):
        assert led.total("cost", mechanic=name).sum() > 0, name
    # every currency unit taken off an order is a cost line of the mechanic that gave it
    given = sum(led.lines[k] for k in led.lines if k in {
        ("discounts", "discounts_subsidised"), ("discounts", "discounts_incremental"),
        ("campaigns", "offers_incremental"), ("campaigns", "offers_subsidised"), ("tiers", "discounts")})
    assert np.allclose(given, m.monthly["discounts"])
    # an offer used conditions the customer through the discounts mechanic
    assert m.mechanic("discounts").gain[: m.customers.n].max() > 0


# --------------------------------------------------------------------------- input checks

@pytest.mark.parametrize("chain, field", [
    ({"name": "x", "trigger": "mail"}, "chains[0].trigger"),
    ({"name": "x", "trigger": "welcome", "target": {"segments": ["vip"]}}, "chains[0].target.segments[0]"),
    ({"name": "x", "trigger": "welcome", "target": {"tiers": ["Gold"]}}, "chains[0].target.tiers"),
    ({"name": "x", "trigger": "welcome", "bonus_points": 10}, "chains[0].bonus_points"),
    ({"name": "x", "trigger": "welcome", "response": 1.5}, "chains[0].response"),
    ({"name": "x", "trigger": "reminder", "browse_per_order": 0}, "chains[0].browse_per_order"),
])
def test_bad_input_names_the_field(chain, field):
    with pytest.raises(ScenarioError) as e:
        validate({**BASE, "programme": {"campaigns": {"chains": [chain]}}}, file="s.yaml")
    assert e.value.field == f"programme.campaigns.{field}"


def test_schema_defaults_name_their_sources():
    spec = Campaigns.SCHEMA
    def text(f):
        return f.doc + " " + (getattr(f, "source", "") or "")
    docs = [text(spec.fields["offer_elasticity"])] + [text(f) for f in spec.fields["fatigue"].fields.values()]
    docs += [text(spec.fields["chains"].item.fields[k]) for k in ("response", "response_half_life_days", "browse_per_order")]
    for doc in docs:
        assert any(w in doc for w in ("19", "20", "seed", "Baymard", "Mailchimp")), doc
