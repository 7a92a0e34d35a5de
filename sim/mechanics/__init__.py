"""Programme mechanics, one module each, and the registry that lists them.

Adding a mechanic
-----------------
The steps are written down in docs/DESIGN.md#adding-a-mechanic. In short: one
module, ``sim/mechanics/<name>.py``, with one subclass of
``sim.mechanics.base.Mechanic`` that declares what it needs (the docstring of
``sim.mechanics.base`` lists the declarations), and its class added to
``MECHANICS`` below (its import and its place in the list; the list's order
decides only where the ``after`` declarations leave a choice). Nothing else
changes: the scenario schema, the validation, the day loop, the result records
and the memory estimate all read the registry. A registry whose declarations
form a cycle, or name a mechanic that is not in it, fails as it is built (that
is, on import).
"""
from sim.mechanics.base import Registry
from sim.mechanics.campaigns import Campaigns
from sim.mechanics.discounts import Discounts
from sim.mechanics.enrolment import Enrolment
from sim.mechanics.goals import Goals
from sim.mechanics.points import Points
from sim.mechanics.referrals import Referrals
from sim.mechanics.service import ServiceDesk
from sim.mechanics.subscription import Subscription
from sim.mechanics.tiers import Tiers

MECHANICS = Registry(Enrolment, Discounts, Subscription, Tiers, Points, Campaigns, Referrals, ServiceDesk, Goals)
