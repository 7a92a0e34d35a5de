"""Programme mechanics, one module each. The order here is the order in which
their hooks run inside a day (prices are set by discounts before points are
redeemed on what is left to pay)."""
from sim.mechanics.enrolment import Enrolment
from sim.mechanics.subscription import Subscription
from sim.mechanics.discounts import Discounts
from sim.mechanics.tiers import Tiers
from sim.mechanics.points import Points
from sim.mechanics.campaigns import Campaigns
from sim.mechanics.referrals import Referrals
from sim.mechanics.service import ServiceDesk

# enrolment first: a customer who joins at the till earns on that order; subscription before
# tiers: when both grant free delivery, the first books it once
MECHANICS = {cls.name: cls for cls in (Enrolment, Discounts, Subscription, Tiers, Points, Campaigns, Referrals,
                                       ServiceDesk)}
