"""The service desk's cost / retention trade-off: one replication, the baseline and one
arm per staffing level, all on the same customers and random numbers."""
from __future__ import annotations


def staffing_tradeoff(scenario, staff_levels, replication=0, backend="serial"):
    """Rows (dicts) of staff, staff cost, service level, mean wait, abandoned share,
    retention rate, latent survival and profit, with each level's change against the
    no-programme baseline."""
    from sim.runner import run_arms
    arms = {f"staff={s}": scenario.with_overrides({"programme.service.staff": int(s)}) for s in staff_levels}
    res = run_arms(scenario, arms, replication + 1, backend=backend)
    base = res.records("baseline")[replication].metrics
    rows = []
    for s in staff_levels:
        rec = res.records(f"staff={s}")[replication]
        met, desk = rec.metrics, rec.mechanics["service"]
        rows.append({
            "staff": int(s), "staff_cost": desk["staff_cost"], "service_level": desk["service_level"],
            "mean_wait_minutes": desk["mean_wait_minutes"], "abandoned_share": desk["abandoned_share"],
            "retention_rate": met["retention_rate"], "retention_lift": met["retention_rate"] - base["retention_rate"],
            "latent_survival": met["latent_survival"], "profit_lift": met["profit"] - base["profit"],
        })
    return rows
