"""Who a message can reach: a personal offer or an e-mail needs an address the business may use.

Members give theirs when they join (the programme's enrolment, or a paid
membership); other customers can be reached only if they opted in to marketing
e-mail, a share of the base set by ``customers.contact.email_opt_in`` (a seed
assumption: no study we know measures it; graded ``assumption`` with a wide
range). Whether a customer opted in is drawn once from their uid, so both arms
and every replication of one seed agree on who can be reached.

Mechanics that send messages (personal offers in ``discounts``, ``campaigns``)
declare ``uses = (..., "enrolment", "subscription")`` and filter their targets
through :func:`reachable`.
"""
from __future__ import annotations

import numpy as np

NONE = 0  # sim.mechanics.subscription's "not a member" state


def reachable(mechanic, idx) -> np.ndarray:
    """For each customer row in ``idx``: can this mechanic's message reach them?"""
    idx = np.asarray(idx)
    model = mechanic.model
    share = model.scenario.cfg.customers.contact.email_opt_in
    uid = mechanic.customers.uid[idx]
    ok = model.streams["contact.opt_in"].uniform(uid, np.zeros(idx.size, np.uint64)) < share
    enrolment = getattr(mechanic, "enrolment", None)
    if enrolment is not None:
        ok |= enrolment.member[idx]
    subscription = getattr(mechanic, "subscription", None)
    if subscription is not None:
        ok |= subscription.state[idx] != NONE
    return ok
