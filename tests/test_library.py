"""Every scenario in the library runs end to end, balances its ledger, and survives a growing base."""
import numpy as np
import pytest

from conftest import SCENARIOS, small
from sim.engine import LoyaltyModel
from sim.work import launch_base

LIBRARY = sorted(p.name for p in SCENARIOS.glob("*.yaml"))


@pytest.mark.slow  # 7 s measured: out of the fast tier (-m 'not slow')
@pytest.mark.parametrize("name", LIBRARY)
def test_library_scenario_runs_and_balances(name):
    sc = small(name, customers=1200, days=150, history=150)
    base = launch_base(sc, 2)
    m = LoyaltyModel(sc, 2, programme=sc.cfg.programme, customers=base).run()
    led = m.ledger
    assert np.allclose(led.total("revenue") + led.total("income") - led.total("cost"), led.profit())
    assert m.monthly["orders"].sum() > 0
    for _mech in m.mechanics:  # every mechanic line is attributed to that mechanic
        for (owner, _line), _kind in led.kinds.items():
            assert owner in {"base", "programme"} | {x.name for x in m.mechanics}


@pytest.mark.slow  # 3 s measured: out of the fast tier (-m 'not slow')
def test_mechanics_grow_with_a_base_that_outgrows_its_reserve():
    """Referred customers beyond the preallocated reserve make every array grow (rarely, not daily)."""
    sc = small("strategy_all_mechanics.yaml", "programme.referrals.rate_per_order=0.6", customers=1000, days=200,
               history=100)
    base = launch_base(sc, 4)
    cap0 = base.capacity
    m = LoyaltyModel(sc, 4, programme=sc.cfg.programme, customers=base).run()
    c = m.customers
    assert c.n > cap0  # it did outgrow the reserve
    for mech in m.mechanics:
        for col in mech.columns():  # every declared column, the 2-D rings and lots too
            arr = getattr(mech, col.name)
            if arr is not None:
                assert arr.shape[-1] >= c.n, (mech.name, col.name)
                assert arr.shape[:-1] == col.shape(mech.config), (mech.name, col.name)
