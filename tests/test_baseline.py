"""The committed numerical baseline (tests/baseline/): any change in numbers shows as a failure here.

A change that is meant to move numbers regenerates the files (python tests/baseline/regenerate.py)
and explains the diff in its commit; a refactor must pass unchanged.
"""
import json

import pytest

from baseline.regenerate import CASES, differences, path_of, run_case


@pytest.mark.slow  # 16 s measured: out of the fast tier (-m 'not slow')
@pytest.mark.parametrize("name", list(CASES))
def test_numbers_equal_the_committed_baseline(name):
    expected = json.loads(path_of(name).read_text())
    moved = differences(expected, run_case(name))
    assert not moved, (f"{len(moved)} numbers of baseline case {name!r} moved (regenerate with "
                       "python tests/baseline/regenerate.py and explain why in the commit):\n  " + "\n  ".join(moved[:30]))


def test_the_comparison_can_fail():
    """The check itself: a number nudged beyond rounding, one gone and one new are each reported."""
    doc = {"a": 1.0, "b": {"c": [2.0, 3.0]}, "t": "text"}
    assert differences(doc, json.loads(json.dumps(doc))) == []
    assert differences(doc, {"a": 1.00001, "b": {"c": [2.0, 3.0]}, "t": "other text"}) == [
        "a: 1.0 -> 1.00001"]
    assert differences(doc, {"a": 1.0, "b": {"c": [2.0]}, "n": 4}) == ["b.c[1]: 3.0 is gone", "n: new number 4.0"]
