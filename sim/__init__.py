"""loyalsim: agent-based simulation of loyalty-programme economics.

    import sim
    result = sim.run("scenarios/points_and_tiers.yaml", replications=4)
    result.summary()

The API (``load``, ``run``, ``compare``) is imported on first use, so the
command line starts quickly.
"""

from sim.version import __version__ as __version__  # re-exported: sim.__version__

_API = ("load", "run", "compare", "execute", "Scenario", "Result", "Comparison", "ResultStore")


def __getattr__(name):
    if name in _API:
        from sim import api
        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))
