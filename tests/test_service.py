"""The service desk: the simpy day (against the textbook Resource model), contacts,
carry-over and abandonment, satisfaction, the staffing / retention trade-off
and the staff cost.

Behavioural tests compare arms of one replication on common random numbers:
contacts, handling times and patience are keyed by the customer and the order,
so two staffing levels see the same contacts until their customers' histories
part. The base has 20,000 customers over two years, ~8,500 contacts.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from conftest import run_programmes
from sim.errors import ScenarioError
from sim.ledger import BASE as BASE_LINE
from sim.mechanics.service import desk_day, desk_day_reference
from sim.studies.staffing import staffing_tradeoff
from sim.work import BASELINE
from sim.scenario import validate

BASE = {
    "name": "service test", "horizon_days": 730, "start_date": "2027-01-01", "seed": 9, "replications": 1,
    "customers": {"initial": 20000, "start": "mature", "history_days": 365, "time_unit": "week",
                  "purchase": {"model": "bgnbd", "r": 0.9, "alpha": 22, "a": 1.5, "b": 6},
                  "spend": {"p": 6.25, "q": 3.74, "gamma": 658},
                  "acquisition": {"per_day": 10, "cost_per_customer": 40}},
    "economics": {"gross_margin": 0.35},
}
# a short-hours desk, so that staffing matters at this size (~18 contacts a day, 3 hours open)
DESK = {"service": {"staff": 1, "open_hour": 9, "close_hour": 12, "contacts_per_order": 0.15}}


def programme(block=DESK, base=BASE, **settings):
    p = copy.deepcopy(block)
    p["service"].update(settings)
    return validate({**base, "programme": p}).cfg.programme


def run(programmes, base=BASE):
    return run_programmes(programmes, base)


def desk(model):
    return model.mechanic("service")


# --------------------------------------------------------------------------- the simpy day

def test_fast_desk_equals_the_resource_model():
    """One process per agent pulling a FCFS queue is the Resource model with reneging, exactly."""
    rng = np.random.default_rng(7)
    for trial in range(150):
        n = int(rng.integers(1, 250))
        carried = rng.uniform(0, 40, int(rng.integers(0, 15)))     # in-hours wait already had
        arrive = np.sort(np.concatenate([480 - carried, rng.uniform(480, 1200, n)]))
        m = arrive.size
        handle = rng.lognormal(2.0, 0.7, m)
        patience = rng.exponential(60, m) + np.where(arrive < 480, 40, 0)  # carried ones have not given up yet
        if trial % 5 == 0:
            patience[:] = np.inf
        staff = int(rng.integers(1, 6))
        w1, o1 = desk_day(arrive, handle, patience, staff, 480.0, 1200.0)
        w2, o2 = desk_day_reference(arrive, handle, patience, staff, 480.0, 1200.0)
        assert np.array_equal(o1, o2), trial
        assert np.allclose(np.nan_to_num(w1, nan=-1), np.nan_to_num(w2, nan=-1)), trial


def test_desk_day_by_hand():
    arrive = np.array([0.0, 1.0, 2.0])
    handle = np.array([10.0, 10.0, 10.0])
    wait, out = desk_day(arrive, handle, np.full(3, np.inf), 1, 0.0, 100.0)
    assert np.allclose(wait, [0, 9, 18]) and list(out) == [0, 0, 0]
    wait, out = desk_day(arrive, handle, np.array([np.inf, np.inf, 15.0]), 1, 0.0, 100.0)
    assert list(out) == [0, 0, 1]                       # the third gave up after 15 of 18 minutes
    wait, out = desk_day(arrive, handle, np.full(3, np.inf), 1, 0.0, 15.0)
    assert list(out) == [0, 0, 2]                       # closing at 15: the third waits for tomorrow
    wait, out = desk_day(arrive, handle, np.full(3, np.inf), 2, 0.0, 100.0)
    assert np.allclose(wait, [0, 0, 8])                 # two agents


# --------------------------------------------------------------------------- switched off

def test_switched_off_is_exactly_the_baseline_and_no_effect_only_costs():
    off = copy.deepcopy(DESK)
    off["service"]["enabled"] = False
    models = run({"off": programme(off),
                  "no_effect": programme(churn_effect_negative=0.0, churn_effect_positive=0.0)},
                 base={**BASE, "horizon_days": 365})
    assert not models["off"].mechanics
    for arm in ("off", "no_effect"):
        for k in ("orders", "revenue", "active_end", "alive_end"):
            assert np.array_equal(models[arm].monthly[k], models[BASELINE].monthly[k]), (arm, k)
    # a desk with no effect on churn still queues, still moves satisfaction, and costs its staff
    d = desk(models["no_effect"])
    assert d.summary()["answered"] > 1000
    assert models["no_effect"].ledger.lines[("service", "staff")].sum() == pytest.approx(365 * 200)


# --------------------------------------------------------------------------- staffing

@pytest.fixture(scope="module")
def staffing():
    return run({"staff1": programme(staff=1), "staff3": programme(staff=3)})


@pytest.mark.slow  # 4 s measured: out of the fast tier (-m 'not slow')
def test_fewer_staff_longer_queue_more_churn(staffing):
    """A longer desk queue (fewer staff) lowers satisfaction and raises churn."""
    s1, s3 = desk(staffing["staff1"]).summary(), desk(staffing["staff3"]).summary()
    assert s1["contacts"] > 6000
    # one agent for three hours runs near capacity: waits several times longer
    assert s1["mean_wait_minutes"] > 2 * s3["mean_wait_minutes"]
    assert s1["service_level"] < s3["service_level"] - 0.2
    assert s1["abandoned_share"] > 2 * s3["abandoned_share"]
    assert s1["contacted_mean_satisfaction"] < s3["contacted_mean_satisfaction"] - 0.05

    def survival(m):
        c = m.customers
        n = c.n
        return (c.alive[:n] & c.alive_at_launch[:n]).sum() / c.alive_at_launch[:n].sum()
    # ~9,000 contacted customers, their hazard ~x1.1-1.3 higher with the short-staffed desk;
    # paired on the same contacts, about -0.5 pts of the whole base's survival (measured -0.5)
    assert survival(staffing["staff1"]) < survival(staffing["staff3"]) - 0.002
    assert staffing["staff1"].monthly["orders"].sum() < staffing["staff3"].monthly["orders"].sum()


@pytest.mark.slow  # 3 s measured: out of the fast tier (-m 'not slow')
def test_staffing_tradeoff_is_reported():
    sc = validate({**BASE, "horizon_days": 365, "programme": DESK})
    rows = staffing_tradeoff(sc, [1, 2, 4])
    assert [r["staff"] for r in rows] == [1, 2, 4]
    cost = [r["staff_cost"] for r in rows]
    level = [r["service_level"] for r in rows]
    wait = [r["mean_wait_minutes"] for r in rows]
    assert cost == [365 * 200 * s for s in (1, 2, 4)]
    assert level[0] < level[1] < level[2] and wait[0] > wait[1] > wait[2]
    assert rows[0]["latent_survival"] < rows[2]["latent_survival"]
    for r in rows:
        assert set(r) >= {"retention_rate", "retention_lift", "profit_lift", "abandoned_share"}


def test_queued_contacts_carry_over_and_every_contact_is_accounted_for():
    """Patient customers (no abandonment) at a two-hour desk: evenings end with a queue that
    is served first the next morning, and no contact is lost."""
    m = run({"patient": programme(staff=1, open_hour=9, close_hour=11, patience_minutes=None)},
            base={**BASE, "horizon_days": 180})["patient"]
    d = desk(m)
    mo = d.monthly
    assert mo["carried_over"].sum() > 100               # many evenings end with a queue ...
    assert mo["abandoned"].sum() == 0                   # ... nobody gives up ...
    left = 0 if d._carry is None else d._carry[0].size
    # ... and nothing is lost: every contact was answered or is still queued
    assert mo["contacts"].sum() == mo["answered"].sum() + left
    series = d.series()
    assert np.all((series["service_level"] >= 0) & (series["service_level"] <= 1))
    assert np.all(series["mean_wait_minutes"] >= 0)


def test_abandoned_and_answered_add_up(staffing):
    d = desk(staffing["staff1"])
    mo = d.monthly
    left = 0 if d._carry is None else d._carry[0].size
    assert mo["contacts"].sum() == mo["answered"].sum() + mo["abandoned"].sum() + left


@pytest.mark.slow  # 6 s measured: out of the fast tier (-m 'not slow')
def test_satisfaction_feeds_referrals():
    """Detractors refer less: the same referral programme brings fewer friends behind a short-staffed desk."""
    block = {"service": dict(DESK["service"], contacts_per_order=0.3),
             "referrals": {"referrer_bonus": 100, "friend_discount": 100, "rate_per_order": 0.05}}
    good = copy.deepcopy(block)
    good["service"]["staff"] = 4
    models = run({"short": programme(block), "good": programme(good)}, base={**BASE, "horizon_days": 365})
    n_short = models["short"].mechanic("referrals").summary()["referrals"]
    n_good = models["good"].mechanic("referrals").summary()["referrals"]
    # satisfaction ~0.3 lower for ~40% of buyers: ~10% fewer referrals of ~1,000 (Poisson SE ~3%),
    # sharper still as both arms share the buyers' orders
    assert n_short < 0.97 * n_good


# --------------------------------------------------------------------------- money and input

def test_staff_cost_and_ledger(staffing):
    m = staffing["staff3"]
    led = m.ledger
    assert led.lines[("service", "staff")].sum() == pytest.approx(3 * 200 * 730)
    assert np.allclose(led.profit(), led.total("revenue") + led.total("income") - led.total("cost"))
    assert {k[0] for k in led.lines} <= {BASE_LINE, "programme", "service"}
    cut = run({"cut": programme(staff=1, baseline_staff=2)}, base={**BASE, "horizon_days": 90})["cut"]
    assert cut.ledger.lines[("service", "staff")].sum() == pytest.approx(-200 * 90)  # one agent fewer: a saving


@pytest.mark.parametrize("change,field", [
    ({"open_hour": 18, "close_hour": 9}, "programme.service.close_hour"),
    ({"contact_from_hour": 20, "contact_to_hour": 8}, "programme.service.contact_to_hour"),
    ({"staff": 0}, "programme.service.staff"),
    ({"contacts_per_order": 2}, "programme.service.contacts_per_order"),
])
def test_bad_input_names_the_field(change, field):
    p = copy.deepcopy(DESK)
    p["service"].update(change)
    with pytest.raises(ScenarioError) as e:
        validate({**BASE, "programme": p})
    assert e.value.field == field


def test_library_scenario_runs_and_switches_off():
    from conftest import small
    sc = small("service_desk.yaml", customers=3000, days=365, reps=1)
    off = small("service_desk.yaml", "programme.service.enabled=false", customers=3000, days=365, reps=1)
    from conftest import one_replication
    r = one_replication(sc, {"on": sc, "off": off})
    on, base, o = r["on"], r[BASELINE], r["off"]
    assert on.mechanics["service"]["answered"] > 0
    assert on.cost_lines["service.staff"] == pytest.approx(200 * 365)
    for k in ("orders", "revenue", "retention_rate", "active_customers_end"):
        assert o.metrics[k] == base.metrics[k], k


def test_monthly_report_puts_the_desk_beside_retention(staffing):
    import pandas as pd
    from sim.metrics import monthly_series
    f = pd.DataFrame(monthly_series(staffing["staff1"]))
    for col in ("service.service_level", "service.mean_wait_minutes", "service.abandoned", "service.contacts",
                "service.staff_cost", "active_end", "retained_end"):
        assert col in f.columns, col
    assert len(f) == staffing["staff1"].n_months


@pytest.mark.slow  # 4 s measured: out of the fast tier (-m 'not slow')
def test_same_seed_same_json_serially_and_in_parallel():
    """The desk, referrals (new uids, the tree) and satisfaction do not depend on the process layout."""
    from conftest import run_cli
    args = ["run", "scenarios/strategy_referral_growth.yaml", "--json", "--set", "customers.initial=1500",
            "--set", "horizon_days=200", "-r", "2"]
    serial, parallel = run_cli(*args, "-j", "1"), run_cli(*args, "-j", "2")
    assert serial.returncode == 0, serial.stderr
    assert serial.stdout == parallel.stdout
