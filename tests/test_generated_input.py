"""Issue #20, generated bad input: scenarios and command lines nobody wrote by hand.

Hypothesis mutates the library's scenarios (scenarios/*.yaml: wrong types, out-of-range numbers,
unknown and missing keys, deep nesting, odd unicode, huge lists, stray bytes in the text) and
command lines (unknown options, bad numbers for --replications, --seed and the study counts), and
holds that every one ends with exit code 0, or exit code 2 and ONE line on stderr naming the file
(or the option) and the field, never a traceback, within a time and a memory bound. The bulk runs
``loyalsim validate`` in this process (fast); a few run the simulation at a tiny size, and a few
run as a subprocess under an address-space limit.

Profiles (environment variable HYPOTHESIS_PROFILE): ``ci`` (the default: derandomized, so CI sees the
same examples every time, no example database written into the repository, the whole file well
under 60 s on two cores) and ``nightly`` (many more examples, random):

    HYPOTHESIS_PROFILE=nightly python3 -m pytest -q tests/test_generated_input.py

The cases by hand are in tests/test_hardening.py (its helpers are reused here).
"""
import copy
import os
import re
import resource
import shutil
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from conftest import SCENARIOS, invoke
from test_hardening import GB, TINY, bounded

settings.register_profile("ci", max_examples=60, derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
settings.register_profile("nightly", max_examples=2000, derandomize=False, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
BASE = settings.get_profile(PROFILE)
NIGHTLY = PROFILE == "nightly"


def examples(ci):
    """The settings of one test: ``ci`` examples in CI, thirty times as many at night."""
    return settings(BASE, max_examples=ci * 30 if NIGHTLY else ci)


SECONDS = 10   # one validate of a mutated scenario; a refusal takes milliseconds, a real load a fraction of a second
RUN_SECONDS = 60  # one tiny run, on a loaded two-core machine
MAX_RSS = 3 * GB  # this process's high-water mark after the generated inputs

LIBRARY = sorted(p.name for p in SCENARIOS.glob("*.yaml"))
DOCS = {name: yaml.safe_load((SCENARIOS / name).read_text(encoding="utf-8")) for name in LIBRARY}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A copy of scenarios/ (so the includes, bases/ and presets/, resolve next to the mutated files)."""
    folder = tmp_path_factory.mktemp("library") / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    return folder


# --------------------------------------------------------------------------- what is generated

ODD_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # any character UTF-8 can hold
NUMBERS = st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -1, 1, 0.5, 1e-300, 1e300, 2**63, -2**63, 10**12 + 1]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, ODD_TEXT, st.dates())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(ODD_TEXT, inner, max_size=4)), max_leaves=12)
MUTATIONS = ("wrong type", "out of range", "missing key", "unknown key", "deep nesting", "odd unicode", "huge list",
             "odd key")


def places(doc, path=()):
    """Every (container, key, dotted path) in a document, the top included."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield doc, k, (*path, str(k))
            yield from places(v, (*path, str(k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield doc, i, (*path, str(i))
            yield from places(v, (*path, str(i)))


def nested(depth, leaf, as_list):
    for _ in range(depth):
        leaf = [leaf] if as_list else {"deeper": leaf}
    return leaf


@st.composite
def mutated_scenarios(draw):
    """A library scenario with one to three mutations; returns (its name, the document, what was done)."""
    name = draw(st.sampled_from(LIBRARY))
    doc = copy.deepcopy(DOCS[name])
    done = []
    for _ in range(draw(st.integers(1, 3))):
        spots = list(places(doc))
        if not spots:
            break
        container, key, path = draw(st.sampled_from(spots))
        kind = draw(st.sampled_from(MUTATIONS))
        done.append((kind, ".".join(path)))
        if kind == "wrong type":
            container[key] = draw(VALUES)
        elif kind == "out of range":
            container[key] = draw(NUMBERS)
        elif kind == "missing key":
            del container[key]
        elif kind in ("unknown key", "odd key") and isinstance(container, dict):
            new = draw(ODD_TEXT if kind == "odd key" else st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
            container[new] = draw(VALUES)
        elif kind == "deep nesting":
            container[key] = nested(draw(st.integers(2, 200)), container[key], draw(st.booleans()))
        elif kind == "odd unicode":
            container[key] = draw(ODD_TEXT)
        elif kind == "huge list":
            container[key] = [draw(SCALARS)] * draw(st.sampled_from([1000, 20_000, 120_000]))
        else:
            container[key] = draw(VALUES)
    return name, doc, done


def dumped(doc) -> str:
    return yaml.dump(doc, Dumper=yaml.CSafeDumper if hasattr(yaml, "CSafeDumper") else yaml.SafeDumper,
                     allow_unicode=True, sort_keys=False)


STRAY = st.sampled_from(["\x00", "\ufeff", "\t", ":", "- ", "{", "]", "&a", "*a", "!!python/object:os.system ", "%",
                         "\udcff", "\r", "\x85", "'", "\"", "? ", "<<: "])


def one_line(r, path, started, seconds=SECONDS, names=()):
    """Exit 0; or exit 2 and one line on stderr, naming the file (an include's, when the fault is there)
    and a field (or the YAML's line), never a traceback; within ``seconds``."""
    took = time.monotonic() - started
    if currently_in_test_context():  # --hypothesis-show-statistics: how many examples ran, how many were refused
        event(f"exit code {r.returncode}")
    assert took < seconds, f"took {took:.1f} s"
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert r.returncode in (0, 2), (r.returncode, r.stderr[-3000:])
    if r.returncode == 0:
        return None
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr[-3000:]
    line = lines[0]
    assert line.startswith("loyalsim: "), line
    named = [n for n in (str(path), *names) if n in line]
    assert named, ("names neither the file nor the option", line)
    assert any(len(line.rsplit(n, 1)[1].strip(" :")) > 4 for n in named), ("says nothing after the file", line)
    return line


# --------------------------------------------------------------------------- scenarios

@pytest.mark.slow  # 30 s measured: out of the fast tier (-m 'not slow')
@examples(60)
@given(case=mutated_scenarios())
def test_mutated_library_scenarios_validate_or_are_refused_in_one_line(library, case):
    name, doc, _ = case
    path = library / f"mutated_{name}"
    try:
        text = dumped(doc)
    except yaml.YAMLError:  # not a document YAML can hold (then no user can write it either)
        assume(False)
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    line = one_line(invoke("validate", path), path, started, names=[str(library)])
    if line is not None and str(path) in line:
        # the field is named: some text that is not the YAML's position follows the file's name
        assert re.search(r": ([\w\[\].-]+|line \d+|the file|expected|is a folder)", line.split(str(path), 1)[1]), line


@examples(30)
@given(name=st.sampled_from(LIBRARY), data=st.data())
def test_stray_characters_in_a_scenarios_text_are_refused_in_one_line(library, name, data):
    text = (SCENARIOS / name).read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(STRAY) + text[at:]
    path = library / f"stray_{name}"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))  # a lone surrogate: a byte not UTF-8
    started = time.monotonic()
    one_line(invoke("validate", path), path, started, names=[str(library)])


def _number_fields():
    """Every number field of the schema with its allowed range, as --set paths (a list's first item),
    leaving out those that set the size of the run (kept tiny here)."""
    from sim.scenario import scenario_schema
    from sim.schema import Num, leaves
    size = ("horizon_days", "replications", "customers.initial", "customers.history_days", "customers.acquisition")
    return [(path.replace("[]", ".0"), spec.lower, spec.upper) for path, spec in leaves(scenario_schema())
            if isinstance(spec, Num) and not path.startswith(size)]


NUMBER_FIELDS = _number_fields()


@st.composite
def extreme_settings(draw):
    """One to three number fields at the edge of what the schema allows (or anywhere inside it)."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        path, lo, hi = draw(st.sampled_from(NUMBER_FIELDS))
        inside = st.integers(lo, hi) if isinstance(lo, int) and isinstance(hi, int) else st.floats(float(lo), float(hi))
        value = draw(st.one_of(st.sampled_from([lo, hi]), inside))
        out.append(f"{path}={value!r}")
    return out


@examples(6)
@given(name=st.sampled_from(LIBRARY), sets=extreme_settings())
def test_library_scenarios_at_the_edges_of_their_ranges_run_at_a_tiny_size(name, sets):
    """Values the schema allows must also run: the simulation itself must not crash on them, nor hang."""
    argv = ["run", str(SCENARIOS / name), *TINY, "--backend", "serial", "--json", *[a for v in sets for a in ("--set", v)]]
    started = time.monotonic()
    one_line(invoke(*argv), SCENARIOS / name, started, RUN_SECONDS, names=[str(SCENARIOS), "--set"])


@pytest.mark.slow  # 3 s measured: out of the fast tier (-m 'not slow')
@examples(3)
@given(case=mutated_scenarios())
def test_mutated_scenarios_in_a_subprocess_stay_within_time_and_memory(library, case):
    """As a user runs it, under an address-space limit (2 GB) and a timeout: a bomb is refused, not run."""
    name, doc, _ = case
    path = library / f"bounded_{name}"
    try:
        path.write_text(dumped(doc), encoding="utf-8")
    except yaml.YAMLError:
        assume(False)
    started = time.monotonic()
    one_line(bounded("validate", path, timeout=60), path, started, 60, names=[str(library)])


# --------------------------------------------------------------------------- command lines

COUNT_TEXT = st.one_of(st.integers(-10**20, 10**20).map(str), st.sampled_from(["", "x", "1.5", "1e3", "0x10", "nan",
                                                                                 "inf", "-0", " 2", "２", "1_000"]),
                       ODD_TEXT)
FIELDS = st.sampled_from(["seed", "replications", "customers.initial", "horizon_days", "programme.points.point_value",
                          "programme.tiers.levels.1.threshold", "economics.gross_margin", "no.such.field", "",
                          "programme.points", "customers.purchase.r", "programme.tiers.levels.99.threshold"])
OPTIONS = st.one_of(
    st.tuples(st.sampled_from(["--replications", "-r", "--seed", "--workers", "--max-memory",
                               "--cluster-timeout"]), COUNT_TEXT),
    st.tuples(st.just("--set"), st.builds(lambda f, v: f"{f}={v}", FIELDS, COUNT_TEXT)),
    st.tuples(st.just("--set"), ODD_TEXT),
    st.tuples(st.from_regex(r"--[a-z][a-z-]{0,12}", fullmatch=True)),  # options that may not exist
    st.tuples(st.sampled_from(["--json", "--explain", "-h"]),),
)


@examples(60)
@given(name=st.sampled_from(LIBRARY), options=st.lists(OPTIONS, max_size=4))
def test_generated_validate_command_lines(name, options):
    argv = ["validate", str(SCENARIOS / name), *[a for o in options for a in o]]
    started = time.monotonic()
    r = invoke(*argv)
    if r.returncode == 0 and ("-h" in argv):
        return  # help was asked for (argparse exits 0 with the help text)
    names = [str(SCENARIOS)] + [a.split("=")[0] for a in argv if a.startswith("-")] + ["validate"]
    names += [a.split("=")[0] for a in argv[2:] if "=" in a]
    one_line(r, SCENARIOS / name, started, names=names)


STUDIES = {  # each command with the options that are its own, so most examples reach the command itself
    "run": ((), ("-r", "--seed", "--workers")),
    "sweep": (("--vary", "programme.points.point_value=0.1,0.2"), ("--samples", "-r", "--seed")),
    "psa": (("--no-tornado", "--draws", "2"), ("--draws", "-r", "--seed")),
    "pilot": (("--members", "50", "--control", "50", "--months", "1", "--no-evsi"),
              ("--pilot-replications", "--members", "--control", "--months", "--seed")),
}
COUNT = st.one_of(st.integers(-2, 3).map(str), st.sampled_from(["x", "1e9", "99999999999999999999", "", "nan", "0"]))


@st.composite
def study_lines(draw):
    command = draw(st.sampled_from(sorted(STUDIES)))
    base, options = STUDIES[command]
    counts = draw(st.lists(st.tuples(st.sampled_from(options), COUNT), min_size=1, max_size=2))
    return [command, *base, *[a for c in counts for a in c]]


@examples(8)
@given(line=study_lines())
def test_generated_study_command_lines_at_a_tiny_size(tmp_path_factory, line):
    """Bad counts for the simulating commands: refused in one line, or a tiny run (-r at most 3, 300 customers,
    90 days: the counts that are allowed are kept small so every example is a second or two)."""
    from test_hardening import GOOD
    path = tmp_path_factory.mktemp("study") / "s.yaml"
    path.write_text(GOOD.replace("horizon_days: 30", "horizon_days: 90"))
    argv = [line[0], str(path), *line[1:], "--backend", "serial"]
    started = time.monotonic()
    one_line(invoke(*argv), path, started, RUN_SECONDS, names=[a for a in argv if a.startswith("-")] + [line[0]])


def test_the_generated_inputs_stayed_within_the_memory_bound():
    """The high-water mark of this process after the examples above (ru_maxrss is in kB on Linux)."""
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < MAX_RSS


def test_the_checks_can_fail(library):
    """The oracle is not vacuous: a traceback, two lines, a slow answer and a nameless line all fail it."""
    from conftest import Result
    path = library / "x.yaml"
    for bad in (Result(1, "", "Traceback (most recent call last):\n"), Result(2, "", "loyalsim: a\nloyalsim: b\n"),
                Result(2, "", "loyalsim: something went wrong\n"), Result(3, "", "")):
        with pytest.raises(AssertionError):
            one_line(bad, path, time.monotonic())
    with pytest.raises(AssertionError, match="took"):
        one_line(Result(0, "", ""), path, time.monotonic() - SECONDS - 1)
    assert one_line(Result(2, "", f"loyalsim: {path}: seed: allowed 0 to 2**32\n"), path, time.monotonic())
    assert Path(path).name == "x.yaml"


@pytest.mark.parametrize("argv, words", [
    # a --set on a mechanic the scenario does not have made a tiers block with no levels (IndexError)
    (("validate", "campaigns.yaml", "--set", "programme.tiers.grace_months=0"), ["programme.tiers.levels"]),
    # a control character quoted in argparse's message split it over two lines
    (("validate", "campaigns.yaml", "--replications", "\r"), ["--replications", "\\r"]),
])
def test_what_the_generator_found_stays_fixed(argv, words):
    r = invoke(argv[0], SCENARIOS / argv[1], *argv[2:])
    line = one_line(r, SCENARIOS / argv[1], time.monotonic(), names=["--replications"])
    assert all(w in line for w in words), line


def test_an_odd_key_with_a_line_break_is_named_on_one_line(tmp_path):
    """Found by the generator: an unknown key holding a carriage return made a two-line message."""
    path = tmp_path / "s.yaml"
    path.write_text(dumped({**DOCS["simple_points.yaml"], "customers": {"initial": 300}, "\r": None}),
                    encoding="utf-8")
    line = one_line(invoke("validate", path), path, time.monotonic())
    assert "\\r: unknown key" in line, line
