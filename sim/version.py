"""loyalsim's version: a leaf module, so that the code which stamps it on records and outputs needs
nothing else of the package."""

__version__ = "0.2.0"
