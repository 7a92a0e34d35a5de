"""Programme mechanics, one module each, and the registry that lists them.

Adding a mechanic
-----------------
1. Write one module, ``sim/mechanics/<name>.py``, with one subclass of
   ``sim.mechanics.base.Mechanic``. It declares, as class attributes:

   * ``name`` (its block in the scenario's ``programme``) and ``SCHEMA`` (that
     block's fields: type, default, range, and for a behavioural parameter its
     source and how well its size is known);
   * ``requires``, ``uses`` and ``after``: the mechanics it cannot run without,
     those it reads when they run, and those whose hooks must run before its own
     within a day (prices: discounts before tiers before points, so each takes
     its share of what is left to pay). Each peer it requires or uses is an
     attribute of that name (``self.tiers``, None when tiers do not run), set
     before any hook runs: never look a mechanic up by name;
   * ``FACTORS`` (which of the behaviour factors it owns: ``intensity``,
     ``basket``, ``dropout``) and ``COLUMNS`` (its other per-customer state,
     ``Column(name, dtype, fill, rows=..., when=...)``). The base class allocates
     them at the size of the customer base, grows them when the base grows, lets
     go of them when the arm is closed, and the memory estimate counts them.

   Then it overrides the hooks it needs (``on_arrivals``, ``start_day``,
   ``price_orders``, ``after_orders``, ``end_day``, ``end_month``, ...: the day
   loop calls them in the order ``sim.engine.LoyaltyModel.step`` writes down),
   books its money with ``self.book(line, amount, kind)``, checks what the schema
   cannot in ``validate`` (raising ScenarioError that names the field), and
   reports ``series`` and ``summary``.
2. Add its class to ``MECHANICS`` below: its import and its place in the list.
   The list's order decides only where the declarations leave a choice.

Nothing else changes: the scenario schema, the validation, the day loop, the
result records and the memory estimate all read the registry. A registry whose
``after`` declarations form a cycle, or name a mechanic that is not in it, fails
as it is built (that is, on import).
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
