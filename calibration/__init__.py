"""Calibration of a loyalsim customer base from a transaction log.

Read a log, summarise each customer (frequency, recency, age, spend), fit the
"buy till you die" models (BG/NBD, Pareto/NBD, Gamma-Gamma), check them on a
holdout period, segment the base by RFM, and write the ``customers:`` population
block that scenarios include.

Public API::

    from calibration import calibrate, read_transactions, summarise, population_block
    result = calibrate("orders.csv", calibration_end="2024-06-30")   # -> Calibration
    result.population_block()                                         # -> {"customers": {...}}

    from calibration.models import bgnbd, paretonbd, gammagamma
    bgnbd.expected_purchases({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, t=52.0)
"""

_EXPORTS = {
    "cdnow_path": "calibration.datasets",
    "Calibration": "calibration.pipeline",
    "calibrate": "calibration.pipeline",
    "format_population_block": "calibration.population",
    "population_block": "calibration.population",
    "write_population_block": "calibration.population",
    "CustomerSummary": "calibration.summary",
    "summarise": "calibration.summary",
    "TransactionLog": "calibration.transactions",
    "read_transactions": "calibration.transactions",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    # imported on first use: the loyalsim command registers `calibrate` without loading the fitting code
    if name in _EXPORTS:
        import importlib
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'calibration' has no attribute {name!r}")
