"""loyalsim: agent-based simulation of loyalty-programme economics."""

__version__ = "0.1.0"
