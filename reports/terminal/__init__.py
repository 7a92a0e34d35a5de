"""The answers on the terminal, one module per kind of summary: what a marketing lead reads first.

``render(doc)`` picks the module by the summary's ``kind``. Every module prints the
summary's own verdict (``common.verdict_lines``) and never decides one.
"""
from __future__ import annotations


def render(doc: dict) -> str:
    """The terminal answer of any summary, by its kind."""
    from reports.terminal import backtest, compare, evidence, optimise, pilot, psa, run, sweep
    renderers = {"run": run.render, "comparison": compare.render, "sweep": sweep.render, "psa": psa.render,
                 "pilot": pilot.render, "optimise": optimise.render, "evidence": evidence.render,
                 "backtest": backtest.render}
    return renderers[doc["kind"]](doc)
