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

from calibration.datasets import cdnow_path
from calibration.pipeline import Calibration, calibrate
from calibration.population import format_population_block, population_block, write_population_block
from calibration.summary import CustomerSummary, summarise
from calibration.transactions import TransactionLog, read_transactions

__all__ = [
    "Calibration",
    "CustomerSummary",
    "TransactionLog",
    "calibrate",
    "cdnow_path",
    "format_population_block",
    "population_block",
    "read_transactions",
    "summarise",
    "write_population_block",
]
