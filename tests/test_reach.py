"""Offers reach whom they can reach: personal offers and e-mails need an address the business may use.

Members (of the programme, or of a paid membership) are reachable; other customers only if they
opted in to e-mail (``customers.contact.email_opt_in``, drawn once per customer from its uid).
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import small
from sim.mechanics.contact import reachable
from sim.work import run_models


def _discounts(share, *extra):
    sc = small("discounts.yaml", f"customers.contact.email_opt_in={share}", *extra, customers=4000, days=180, reps=1)
    return run_models(sc, {"on": sc})["on"]


def test_personal_offers_reach_only_customers_who_opted_in_when_nobody_is_a_member():
    none = _discounts(0.0).mechanic("discounts").summary()["offers_sent"]
    every = _discounts(1.0).mechanic("discounts").summary()["offers_sent"]
    part = _discounts(0.3).mechanic("discounts").summary()["offers_sent"]
    assert none == 0 and every > 500
    # the opted-in are a uid-drawn 30% of the targets; with ~every/share targets over the
    # offers' rounds the share has a binomial SE below 2 points, and the targets of later rounds
    # differ a little with the offers already sent: 0.2..0.4 is comfortably wide of both
    assert 0.2 < part / every < 0.4


def test_the_opted_in_are_the_same_customers_in_every_arm_and_members_are_always_reachable():
    m = _discounts(0.3)
    d = m.mechanic("discounts")
    rows = np.arange(m.customers.n)
    first = reachable(d, rows)
    assert np.array_equal(first, reachable(d, rows))                  # drawn from the uid, not a stream position
    assert abs(first.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / rows.size)  # four standard errors of a share

    class WithMembers:  # a mechanic that sees enrolment: every member is reachable
        model, customers = d.model, d.customers
        enrolment = type("E", (), {"member": np.ones(rows.size, bool)})()
        subscription = None
    assert reachable(WithMembers, rows).all()


def test_campaign_messages_reach_the_opted_in_and_the_members():
    sc = small("campaigns.yaml", "customers.contact.email_opt_in=0.0", customers=3000, days=120, reps=1)
    closed = run_models(sc, {"on": sc})["on"]
    sc1 = small("campaigns.yaml", "customers.contact.email_opt_in=1.0", customers=3000, days=120, reps=1)
    opened = run_models(sc1, {"on": sc1})["on"]
    sent0 = closed.mechanic("campaigns").summary()["messages"]
    sent1 = opened.mechanic("campaigns").summary()["messages"]
    assert sent1 > 0
    members = closed.mechanic("enrolment")
    if members is None:
        assert sent0 == 0
    else:  # members only
        assert 0 < sent0 < sent1


@pytest.mark.parametrize("path,listed", [("discounts.yaml", True), ("campaigns.yaml", True),
                                         ("subscription_vip.yaml", False), ("points_and_tiers.yaml", False)])
def test_reach_is_listed_only_where_a_message_is_sent(path, listed):
    from sim.scenario import assumptions, load
    from conftest import SCENARIOS
    fields = {r["field"] for r in assumptions(load(SCENARIOS / path))}
    assert ("customers.contact.email_opt_in" in fields) is listed
