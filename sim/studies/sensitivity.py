"""Which assumptions move the answer: Morris screening and Sobol indices over the uncertain parameters.

The parameters are sampled by SALib in the unit cube (Saltelli's sample for
Sobol, Morris trajectories) and mapped through each prior's quantile function,
so the indices are of incremental profit over the priors themselves, drawn
independently: Sobol's variance decomposition assumes independent inputs, so a
correlation in the uncertainty block is left out here (the result says so). Every
point runs paired against the baseline on one replication seed (common random
numbers), and the share of the variance that is simulation noise is measured
beside them from replications of the plain scenario.
"""
from __future__ import annotations

import numpy as np

from sim.studies.plan import run_variants


def uncertain_indices(scenario, priors, method="sobol", samples=32, replication=0, *, workers=None, backend=None,
                      scheduler=None, store=None, progress=None, noise_variance=None) -> dict:
    names = priors.fields
    if not names:
        return {}
    problem = {"num_vars": len(names), "names": names, "bounds": [[1e-6, 1 - 1e-6]] * len(names)}
    if method == "sobol":
        from SALib.sample import sobol
        u = sobol.sample(problem, samples, calc_second_order=False, seed=scenario.cfg.seed)
    else:
        from SALib.sample import morris
        u = morris.sample(problem, samples, num_levels=4, seed=scenario.cfg.seed)
    values = np.column_stack([p.quantile(u[:, j]) for j, p in enumerate(priors.priors)])
    variants = [scenario.with_overrides(priors.at(row)) for row in values]
    outcomes, interrupted = run_variants(variants, [[replication]] * len(variants), workers=workers, backend=backend,
                                         scheduler=scheduler, store=store, progress=progress)
    if interrupted:
        return {}
    y = np.array([outcomes[(i, replication)].lift("profit") for i in range(len(variants))])
    out = {"method": method, "points": len(variants)}
    if priors.correlation is not None:
        out["note"] = ("the parameters are drawn independently here (the indices assume it); the scenario's "
                       "correlations apply to the uncertainty analysis itself, not to these indices")
    if method == "sobol":
        from SALib.analyze import sobol
        si = sobol.analyze(problem, y, calc_second_order=False, num_resamples=200, seed=scenario.cfg.seed)
        out["sobol"] = {n: {"first_order": float(si["S1"][i]), "first_order_ci": float(si["S1_conf"][i]),
                            "total_order": float(si["ST"][i]), "total_order_ci": float(si["ST_conf"][i])}
                        for i, n in enumerate(names)}
    else:
        from SALib.analyze import morris
        si = morris.analyze(problem, u, y, num_levels=4, num_resamples=200, seed=scenario.cfg.seed)
        out["morris"] = {n: {"mu_star": float(si["mu_star"][i]), "mu_star_ci": float(si["mu_star_conf"][i]),
                             "sigma": float(si["sigma"][i])} for i, n in enumerate(names)}
    total = float(np.var(y, ddof=1)) if y.size > 1 else 0.0
    if noise_variance is not None and total > 0:
        out["noise_share_of_variance"] = min(noise_variance / total, 1.0)
    return out
