"""The time units a scenario's purchase rates are stated in, in days: shared by the scenario schema
(which offers them) and the customer base (which turns rates into per-day rates), so neither imports
the other."""

TIME_UNITS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12.0, "year": 365.25}
