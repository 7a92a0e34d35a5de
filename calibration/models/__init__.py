"""The models calibration fits: BG/NBD and Pareto/NBD (purchasing), Gamma-Gamma (spend).

Each model module has ``PARAMS`` (the standard parameter names), ``fit(...)``,
``log_likelihood(...)`` and its predictions as functions of a params dict, so the
engine can use published or calibrated parameters without fitting anything.
"""

from calibration.models import bgnbd, gammagamma, paretonbd
from calibration.models.base import ModelFit

PURCHASE_MODELS = {bgnbd.NAME: bgnbd, paretonbd.NAME: paretonbd}

__all__ = ["bgnbd", "paretonbd", "gammagamma", "ModelFit", "PURCHASE_MODELS"]
