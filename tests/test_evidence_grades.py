"""Every behavioural default says how well its size is known: ``measured`` (a study measured this
size), ``direction`` (a study shows the sign, the size is an assumption) or ``assumption``.

The schema refuses an evidence-ranged field without a grade; the grade reaches
``sim.scenario.assumptions()``, the default priors of the uncertainty analysis and
``loyalsim validate --explain`` (a column) and ``--explain --json`` (a key per field); and a
grade must agree with what its source says (a seed assumption is never ``measured``).
"""
import json
import re

import pytest

import sim
from conftest import SCENARIOS, invoke
from sim.scenario import assumptions, scenario_schema
from sim.schema import GRADES, Effect, Num, leaves

LIBRARY = sorted(p.name for p in SCENARIOS.glob("*.yaml"))


def _specs():
    """(dotted path, spec) of every number field of the whole scenario schema."""
    return [(p, s) for p, s in leaves(scenario_schema()) if isinstance(s, Num)]


def _ranged():
    return [(p, s) for p, s in _specs() if s.range is not None]


def _schema_grade(field):
    """The grade the schema declares for a field as explain names it (list items by index)."""
    return dict(_specs())[re.sub(r"\[\d+\]", "[]", field)].grade


def test_every_ranged_field_of_the_schema_has_a_grade():
    ranged = _ranged()
    assert len(ranged) >= 20  # the programme's behavioural defaults, the value curve and the response knobs
    ungraded = [p for p, s in ranged if s.grade not in GRADES]
    assert not ungraded, f"evidence-ranged fields without a grade: {ungraded}"
    # a grade given to a field without a range is one of the three as well
    assert all(s.grade in GRADES for _, s in _specs() if s.grade is not None)


def test_the_schema_refuses_a_ranged_field_without_a_grade_or_with_an_unknown_one():
    with pytest.raises(ValueError, match="needs grade="):
        Effect(0.5, 0.0, 1.0, source="seed assumption")
    with pytest.raises(ValueError, match="needs grade="):
        Num(1.0, range=(0.0, 2.0), source="seed assumption")
    with pytest.raises(ValueError, match="not one of"):
        Effect(0.5, 0.0, 1.0, grade="guess", source="seed assumption")
    assert Effect(0.5, 0.0, 1.0, grade="assumption", source="seed assumption").grade == "assumption"
    assert Num(1.0).grade is None  # a design field (a fee, a threshold) needs none


# What the words of a source mean for its grade.
SEED = re.compile(r"\bseed\b|assum", re.I)             # "seed assumption", "(seed)", "size an assumption"
YEAR = re.compile(r"\b(19|20)\d\d\b")                   # a study is cited with its year
FIGURE = re.compile(r"\d+(\.\d+)?\s*%|\b\d+\.\d+\b|\$\d|\ba (third|half|quarter)\b", re.I)


def _text(spec):
    return f"{spec.source or ''} {spec.doc or ''}"


def disagreements(specs):
    """Where a grade and the words of its source disagree (one line each):
    a field whose source or doc says "seed assumption" (or "seed", or "direction") is never
    ``measured``; a ``measured`` source states the figure it was sized to; a ``direction`` source
    cites a study (with its year) and says that the size is an assumption; an ``assumption``
    says so (or is a calibration knob)."""
    wrong = []
    for path, spec in specs:
        text = _text(spec)
        if spec.grade == "measured":
            if SEED.search(text) or re.search(r"\bdirection\b", text, re.I):
                wrong.append(f"{path}: graded measured, but its source says {text!r}")
            if spec.range is not None and not FIGURE.search(YEAR.sub("", spec.source)):
                wrong.append(f"{path}: graded measured, but its source names no figure: {spec.source!r}")
        elif spec.grade == "direction":
            if not YEAR.search(spec.source):
                wrong.append(f"{path}: graded direction, but its source cites no study: {spec.source!r}")
            if not SEED.search(spec.source):
                wrong.append(f"{path}: graded direction, but its source does not say the size is assumed: {spec.source!r}")
        elif spec.grade == "assumption":
            if not (SEED.search(text) or "calibration knob" in text):
                wrong.append(f"{path}: graded assumption, but its source does not say so: {text!r}")
    return wrong


def test_every_grade_agrees_with_what_its_source_says():
    wrong = disagreements(_specs())
    assert not wrong, "\n".join(wrong)


def test_the_consistency_check_catches_a_source_that_over_claims():
    over_claims = [
        ("a", Effect(0.5, 0.0, 1.0, grade="measured", source="seed assumption")),
        ("b", Effect(0.5, 0.0, 1.0, grade="measured", source="Someone 2020 direction (size a seed assumption)")),
        ("c", Effect(0.5, 0.0, 1.0, grade="measured", source="Someone 2020: members buy more")),  # no figure
        ("d", Effect(0.5, 0.0, 1.0, grade="direction", source="Someone 2020: members buy more")),  # size not said
        ("e", Effect(0.5, 0.0, 1.0, grade="direction", source="members buy more (size a seed assumption)")),  # no study
        ("f", Effect(0.5, 0.0, 1.0, grade="assumption", source="Someone 2020: 50% of members buy more")),
    ]
    assert sorted({line.split(":")[0] for line in disagreements(over_claims)}) == list("abcdef")
    honest = [
        ("g", Effect(0.5, 0.0, 1.0, grade="measured", source="Someone 2020: 50% of members buy more")),
        ("h", Effect(0.5, 0.0, 1.0, grade="direction", source="Someone 2020: members buy more (size a seed assumption)")),
        ("i", Effect(0.5, 0.0, 1.0, grade="assumption", source="seed assumption")),
    ]
    assert disagreements(honest) == []


@pytest.mark.parametrize("path", LIBRARY)
def test_validate_explain_json_carries_the_grade_of_every_ranged_field(path):
    result = invoke("validate", SCENARIOS / path, "--explain", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["fields"]
    ranged = [r for r in rows if r["low"] is not None]
    assert ranged, path  # the value curve is always in force
    for r in ranged:
        assert r["grade"] in GRADES, f"{path}: {r['field']} carries grade {r.get('grade')!r}"
        assert r["grade"] == _schema_grade(r["field"]), r["field"]  # the field's own, not any grade
    # and sim.scenario.assumptions() rows carry the same grades
    sc = sim.load(SCENARIOS / path)
    by_field = {r["field"]: r["grade"] for r in ranged}
    for a in assumptions(sc):
        assert a["grade"] in GRADES and a["grade"] == _schema_grade(a["field"]), a["field"]
        assert by_field.get(a["field"], a["grade"]) == a["grade"]


def test_the_explain_table_shows_the_grade_column():
    text = invoke("validate", SCENARIOS / "strategy_all_mechanics.yaml", "--explain").stdout
    lines = text.splitlines()
    head = next(line for line in lines if line.startswith("field"))
    assert head.split()[-1] == "grade"
    sc = sim.load(SCENARIOS / "strategy_all_mechanics.yaml")
    rows = [r for r in assumptions(sc)]
    assert {r["grade"] for r in rows} == set(GRADES)  # every grade shows up on this scenario
    for r in rows:
        line = next(line for line in lines if line.split() and line.split()[0] == r["field"])
        assert line.split()[-1] == r["grade"], line
    for name in GRADES:  # and the legend says what each grade means
        assert any(line.split()[:1] == [name] for line in lines), name


def test_default_priors_carry_the_grade_and_written_priors_none():
    from sim.studies.priors import priors_of
    sc = sim.load(SCENARIOS / "points_and_tiers.yaml").with_overrides({"uncertainty": {"parameters": {
        "programme.points.behaviour.goal_gradient": {"dist": "uniform", "low": 0.6, "high": 1.0}}}})
    priors = {p.field: p for p in priors_of(sc).priors}
    assert priors["programme.points.behaviour.goal_gradient"].grade is None  # the scenario's own prior
    defaults = [p for f, p in priors.items() if f != "programme.points.behaviour.goal_gradient"]
    assert defaults
    for p in defaults:
        assert p.grade == _schema_grade(p.field), p.field


# fields with a range that are not effects a programme has on customers (a bound, a time, a
# service parameter), and one whose conservative end is its high end (more members acting on
# what they get means less inertia income from fees)
NOT_EFFECTS = {"programme.discounts.behaviour.max_dip", "programme.service.handling.mean_minutes",
               "programme.subscription.renewal.act_per_month"}


def test_effects_no_study_has_sized_stay_small():
    """A behavioural default graded direction or assumption sits at or below the middle of its
    plausible range (toward no effect): an effect no study has sized stays small, and its
    prior (uniform over the range, sim.studies.priors) carries the rest."""
    from sim.scenario import scenario_schema
    from sim.schema import leaves
    high = []
    for path, spec in leaves(scenario_schema()):
        rng = getattr(spec, "range", None)
        if getattr(spec, "grade", None) not in ("direction", "assumption") or not rng or rng[1] <= rng[0]:
            continue
        if path in NOT_EFFECTS or not isinstance(spec.default, (int, float)):
            continue
        position = (spec.default - rng[0]) / (rng[1] - rng[0])
        if position > 0.5 + 1e-9:
            high.append(f"{path}: {spec.default} in {rng[0]}..{rng[1]} ({spec.grade})")
    assert not high, high


def test_unmeasured_defaults_get_the_wide_prior():
    """Measured sizes get a triangular prior peaked at the value; the rest are uniform over the range."""
    from conftest import SCENARIOS
    from sim.scenario import load
    from sim.studies.priors import default_priors
    priors = {p.field: p for p in default_priors(load(SCENARIOS / "discounts.yaml"))}
    assert priors["programme.discounts.behaviour.waiting"].dist == "uniform"
    assert priors["programme.discounts.behaviour.elasticity"].dist == "triangular"
    assert "customers.contact.email_opt_in" in priors                 # personal offers: reach matters
    assert not any(f.startswith("programme.enrolment") for f in priors)  # nothing to join here
