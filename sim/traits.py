"""Customer traits: the Beta-distributed tendencies every customer draws once from their uid.

A leaf module shared by the scenario schema (which offers each trait's Beta shapes as fields) and the
customer base (which keeps one column per trait), so neither imports the other.
"""
from __future__ import annotations

from sim.schema import Pos, Section


def beta_trait(a, b, doc):
    """A trait's Beta(a, b): no published distribution sizes one, so both shapes are seed assumptions."""
    return Section(doc=doc, fields={"a": Pos(a, "Beta shape a (seed assumption)", grade="assumption"),
                                    "b": Pos(b, "Beta shape b (seed assumption)", grade="assumption")})


# One Beta per trait. They are seed assumptions (no published distribution
# exists); each mechanic documents how it uses them.
TRAITS = Section(doc="customer traits in [0, 1]", fields={
    "price_sensitivity": beta_trait(2.0, 2.0, "weight on money value of rewards and discounts (assumption: mean 0.5)"),
    "status_seeking": beta_trait(2.0, 3.0, "weight on tier status (assumption: mean 0.4)"),
    "deal_proneness": beta_trait(1.5, 3.5, "tendency to wait for deals (assumption: mean 0.3; grows with promotions, "
                                           "Mela, Gupta & Lehmann 1997)"),
    "service_sensitivity": beta_trait(2.0, 2.0, "how much service experience moves churn (assumption: mean 0.5)"),
    "advocacy": beta_trait(1.2, 4.8, "propensity to recommend (assumption: mean 0.2)"),
})

TRAIT_NAMES = tuple(TRAITS.fields)  # price_sensitivity, status_seeking, ...
