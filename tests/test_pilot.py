"""Pilots: power, detectable lift and EVSI."""


import pytest

from conftest import small

TINY = ["customers.initial=1500", "horizon_days=200", "customers.history_days=200"]


# --------------------------------------------------------------------------- pilots

@pytest.mark.slow
def test_pilot_power_rises_with_size_and_length_and_evsi_stays_below_evpi():
    from sim.studies.pilot import run_pilot
    # a programme with an effect a pilot can find (a 10% points reward; about +10% in orders)
    sc = small("points_and_tiers.yaml", "programme.tiers.enabled=false", "programme.points.point_value=1.0",
               customers=4000, days=540, history=365)
    powers = {}
    for members, months in ((500, 6), (2000, 6), (2000, 12)):
        res = run_pilot(sc, members, members, months, replications=3, evsi=False, backend="serial")
        d = res.summary()
        powers[(members, months)] = d["power_normal_approximation"]
        assert d["minimum_detectable_lift"] > 0
    assert powers[(500, 6)] < powers[(2000, 6)] < powers[(2000, 12)], powers
    # EVSI, by regression on the PSA draws, is at most EVPI, and grows with the pilot's size
    res = run_pilot(sc, 1000, 1000, 6, replications=3, draws=30, psa_replications=2, backend="serial")
    doc = res.summary()
    evsis = [s["evsi"] for s in doc["sizes"]]
    assert all(e <= doc["evpi"] * 1.001 for e in evsis), (evsis, doc["evpi"])
    assert evsis[0] <= evsis[-1] + 1e-6


