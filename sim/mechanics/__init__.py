"""Programme mechanics, one module each. The order here is the order in which
their hooks run inside a day (prices are set by discounts before points are
redeemed on what is left to pay)."""
from sim.mechanics.tiers import Tiers
from sim.mechanics.points import Points

MECHANICS = {cls.name: cls for cls in (Tiers, Points)}
