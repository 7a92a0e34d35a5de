"""One definition of what the baseline depends on: the result store's key and the comparability check
read the same list (sim.scenario.BASELINE), so they cannot drift apart."""
import pytest

from conftest import SCENARIOS
from sim import scenario
from sim.errors import ScenarioError
from sim.scenario import BASELINE
from sim.studies.compare import check_comparable
from sim.work import record_key

# a change to each field the baseline depends on (a valid value, unlike the flagship's own)
CHANGES = {
    "customers": {"customers.initial": 20001},
    "horizon_days": {"horizon_days": 731},
    "start_date": {"start_date": "2027-02-01"},
    "metrics": {"metrics.loyal_min_orders": 4},
    "seed": {"seed": 2},
    "economics.currency": {"economics.currency": "USD"},
    "economics.gross_margin": {"economics.gross_margin": 0.4},
    "economics.discount_rate": {"economics.discount_rate": 0.05},
}
# and to fields it does not: the programme, its costs, the response, labels and run settings
PROGRAMME_ONLY = [
    {"programme.points.earn_per_currency": 0.05},
    {"economics.programme_fixed_cost_per_month": 1.0},
    {"economics.delivery_fee": 3.0},
    {"response.intensity": 0.5},
    {"name": "another"},
    {"replications": 3},
]


@pytest.fixture(scope="module")
def flagship():
    return scenario.load(SCENARIOS / "points_and_tiers.yaml")


def test_every_field_of_the_baseline_is_exercised():
    assert set(CHANGES) == set(BASELINE)  # a field added to BASELINE needs a change here too


@pytest.mark.parametrize("field", list(CHANGES))
def test_changing_a_field_the_baseline_depends_on_makes_strategies_incomparable_and_changes_the_key(flagship, field):
    other = flagship.with_overrides(CHANGES[field])
    with pytest.raises(ScenarioError) as e:
        check_comparable([flagship, other])
    assert e.value.field == field  # the first field that differs is named
    assert not other.shares_baseline_with(flagship)
    assert record_key(other, 0) != record_key(flagship, 0)  # the baseline's record is not reused


@pytest.mark.parametrize("change", PROGRAMME_ONLY, ids=lambda c: next(iter(c)))
def test_fields_of_a_programme_arm_leave_the_baseline_shared(flagship, change):
    other = flagship.with_overrides(change)
    check_comparable([flagship, other])
    assert other.shares_baseline_with(flagship)
    assert record_key(other, 0) == record_key(flagship, 0)
    if next(iter(change)) not in ("name", "replications"):
        assert record_key(flagship, 0, other) != record_key(flagship, 0, flagship)  # the arm's own record differs


def test_the_first_differing_field_in_the_declared_order_is_named(flagship):
    other = flagship.with_overrides({"economics.gross_margin": 0.4, "horizon_days": 731, "seed": 2})
    with pytest.raises(ScenarioError) as e:
        check_comparable([flagship, other])
    assert e.value.field == "horizon_days"
    assert "strategies are compared on the same horizon days" in str(e.value)
    with pytest.raises(ScenarioError, match="the no-programme baseline depends on it"):
        check_comparable([flagship, flagship, flagship.with_overrides({"economics.gross_margin": 0.4})])
