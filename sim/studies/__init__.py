"""Studies built on the run layer: comparing strategies, the service staffing
trade-off, parameter sweeps, uncertainty and value of information, pilots, and
optimisation. Each plans units of work (``sim.work.Unit``) and runs them
through ``sim.runner.execute``; none of them simulates on its own."""
