"""Mechanics declare what they need: the order of their hooks, their peers and their columns follow."""
import re
from pathlib import Path

import numpy as np
import pytest

import sim.engine
from conftest import ROOT, small
from sim.engine import LoyaltyModel
from sim.errors import ScenarioError
from sim.mechanics import MECHANICS
from sim.mechanics.base import Column, DeclarationError, Mechanic, Registry
from sim.schema import Config
from sim.work import launch_base


def toy(name, **declared):
    """A mechanic class that only declares (requires, uses, after, FACTORS, COLUMNS)."""
    return type(name.title(), (Mechanic,), {"name": name, **declared})


def test_the_order_follows_after_and_keeps_the_listed_order_where_it_leaves_a_choice():
    a, b, c, d = toy("a", after=("c",)), toy("b"), toy("c"), toy("d", after=("a",))
    reg = Registry(a, b, c, d)
    assert reg.order(["a", "b", "c", "d"]) == ["b", "c", "a", "d"]
    assert reg.order(["d", "a", "b"]) == ["a", "b", "d"]  # c does not run: a waits for nothing
    assert reg.order(["d", "c"]) == ["c", "d"]
    assert list(reg) == ["a", "b", "c", "d"]  # read as a mapping, the listed order


def test_a_cycle_is_refused_when_the_registry_is_built():
    a, b, c = toy("a", after=("c",)), toy("b", after=("a",)), toy("c", after=("b",))
    with pytest.raises(DeclarationError, match=r"cycle: a -> c -> b -> a"):
        Registry(a, b, c)
    with pytest.raises(DeclarationError, match="cycle"):
        Registry(toy("a", after=("b",)), toy("b", after=("a",)))
    Registry(toy("a", after=("c",)), toy("b", after=("a",)), toy("c"))  # the same without the loop is fine


@pytest.mark.parametrize("declared", [{"after": ("nope",)}, {"uses": ("nope",)}, {"requires": ("a",)},
                                      {"FACTORS": ("speed",)},
                                      {"COLUMNS": (Column("x", np.int8), Column("x", np.int16))}])
def test_declarations_naming_what_is_not_there_are_refused(declared):
    with pytest.raises(DeclarationError):
        Registry(toy("a", **declared), toy("b"))


def test_a_mechanic_run_without_one_it_requires_is_a_scenario_error_naming_its_field():
    reg = Registry(toy("base"), toy("extra", requires=("base",)))
    on = Config(enabled=True)
    reg.check({"base": on, "extra": on}, "s.yaml")
    reg.check({"base": on}, "s.yaml")
    with pytest.raises(ScenarioError) as e:
        reg.check({"extra": on}, "s.yaml")
    assert e.value.file == "s.yaml" and e.value.field == "programme.extra" and "programme.base" in str(e.value)
    with pytest.raises(ScenarioError, match="programme.extra"):
        reg.check({"base": Config(enabled=False), "extra": on}, "s.yaml")


def test_the_library_order_is_the_listed_order_and_honours_every_declaration():
    """The registry's list is written in an order every declaration agrees with, so the sort changes
    no number: the full programme runs in exactly the listed order."""
    sc = small("strategy_all_mechanics.yaml", customers=500, days=30, history=30)
    running = [cls.name for cls in MECHANICS.running(sc.cfg.programme)]
    assert running == list(MECHANICS)
    for cls in MECHANICS.values():
        for before in cls.after:
            assert running.index(before) < running.index(cls.name), (cls.name, before)
    # and every library scenario runs its mechanics in an order the declarations allow
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        sc = small(path.name, customers=500, days=30, history=30)
        order = [cls.name for cls in MECHANICS.running(sc.cfg.programme)]
        assert order == [n for n in MECHANICS if n in order], path.name


def test_peers_are_handed_over_before_any_hook_runs(monkeypatch):
    seen = []

    class Probe(Mechanic):
        name = "probe"
        uses = ("points", "tiers", "subscription")
        after = ("points",)

        def on_arrivals(self, idx):
            seen.append((self.points, self.tiers, self.subscription))

        def start_day(self, day):
            seen.append((self.points, self.tiers, self.subscription))

    monkeypatch.setattr(sim.engine, "MECHANICS", Registry(*MECHANICS.values(), Probe))
    sc = small("points_and_tiers.yaml", customers=500, days=5, history=30)
    programme = dict(sc.cfg.programme, probe=Config(enabled=True))
    model = LoyaltyModel(sc, 3, programme=programme, customers=launch_base(sc, 3))
    names = [m.name for m in model.mechanics]
    assert names == ["enrolment", "tiers", "points", "probe"]
    probe, points, tiers = model.mechanics[3], model.mechanics[2], model.mechanics[1]
    assert (probe.points, probe.tiers, probe.subscription) == (points, tiers, None)  # before the first day
    model.run()
    assert seen and all(s == (points, tiers, None) for s in seen)
    # the library's own peers
    assert points.tiers is tiers and points.subscription is None and points.enrolment is model.mechanics[0]
    assert tiers.points is points and tiers.enrolment is model.mechanics[0]
    model.close()
    assert probe.points is None and probe.model is None


def test_no_mechanic_looks_another_up_by_name():
    """Peers come from the declarations; a lookup at run time (model.mechanic("tiers")) would hide one."""
    found = []
    for path in sorted((ROOT / "sim" / "mechanics").glob("*.py")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\.mechanic\(|\bmechanics\[|for \w+ in self\.model\.mechanics", line):
                found.append(f"{path.name}:{i}: {line.strip()}")
    assert not found, found


def test_every_per_customer_array_is_declared_and_the_estimate_counts_them():
    """Every array a running mechanic holds per customer is one of its declared columns (so it grows
    with the base and the memory estimate sees it), and the declared bytes are what is allocated."""
    from sim.limits import PROGRAMME_COPIES, programme_row_bytes
    sc = small("strategy_all_mechanics.yaml", customers=900, days=40, history=40)
    model = LoyaltyModel(sc, 2, programme=sc.cfg.programme, customers=launch_base(sc, 2)).run()
    cap = model.customers.capacity
    allocated = 0
    for m in model.mechanics:
        declared = {col.name for col in m.columns()}
        for name, value in vars(m).items():
            if isinstance(value, np.ndarray) and cap in value.shape:
                assert name in declared, f"{m.name}.{name} is per customer but not declared"
        for col in m.columns():
            arr = getattr(m, col.name)
            allocated += 0 if arr is None else arr.nbytes
    assert allocated == MECHANICS.row_bytes(sc.cfg.programme) * cap
    assert programme_row_bytes(sc.cfg.programme) == int(PROGRAMME_COPIES * allocated / cap)
    # the configuration decides the 2-D columns: longer expiry, more lots; no cap, no send ring
    longer = sc.with_overrides({"programme.points.expiry.months_after_earning": 36,
                                "programme.campaigns.frequency_cap": None})
    points, campaigns = MECHANICS["points"], MECHANICS["campaigns"]
    assert (points.row_bytes(longer.cfg.programme.points) - points.row_bytes(sc.cfg.programme.points)
            == 4 * (36 - sc.cfg.programme.points.expiry.months_after_earning))
    assert campaigns.row_bytes(sc.cfg.programme.campaigns) - campaigns.row_bytes(longer.cfg.programme.campaigns) \
        == 4 * sc.cfg.programme.campaigns.frequency_cap + 2


def test_adding_a_mechanic_is_written_down_where_the_registry_is():
    import sim.mechanics
    doc = sim.mechanics.__doc__
    assert "Adding a mechanic" in doc and "MECHANICS" in doc
    assert Path(sim.mechanics.__file__).read_text().count("Registry(") == 1
