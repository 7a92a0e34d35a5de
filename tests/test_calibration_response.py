"""Programme response from evidence: fitted strengths reproduce the observed lifts."""
import json

import pytest

from conftest import ROOT, invoke
from calibration.response import fit_response, read_evidence


def evidence(tmp_path, lifts, customers=1500):
    p = tmp_path / "evidence.yaml"
    p.write_text(f"scenario: {ROOT / 'scenarios' / 'points_and_tiers.yaml'}\ncustomers: {customers}\nlifts:\n"
                 + "".join(f"  {k}: {v}\n" for k, v in lifts.items()))
    return p


def test_fitted_strengths_reproduce_observed_lifts(tmp_path):
    # a retention lift and a check lift identify the dropout and basket channels; on a paired
    # (common random numbers) base the fit is deterministic, so 5% of the lift is a fair bar
    ev = read_evidence(evidence(tmp_path, {"retention_rate": "{relative: 0.10}", "average_check": "{relative: 0.12}"}))
    fit = fit_response(ev, max_evals=30)
    for metric in ("retention_rate", "average_check"):
        assert fit.achieved[metric] == pytest.approx(fit.targets[metric], rel=0.15, abs=0.01), metric
    assert fit.strengths["intensity"] == 1.0  # not identified by these lifts: left at the defaults
    assert fit.strengths["basket"] > 1.0


def test_response_block_runs_in_the_scenario(tmp_path):
    ev = evidence(tmp_path, {"average_check": "{relative: 0.05}"})
    out = tmp_path / "response.yaml"
    r = invoke("calibrate", "--response", ev, "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc["strengths"]) == {"intensity", "basket", "dropout"}
    scen = tmp_path / "tuned.yaml"
    scen.write_text(f"name: tuned\nreplications: 1\nhorizon_days: 60\ncustomers: {{initial: 500, history_days: 60}}\n"
                    f"programme: {{points: {{earn_per_currency: 0.1, point_value: 0.1}}}}\nresponse: {{include: {out}}}\n")
    assert invoke("validate", scen).returncode == 0


@pytest.mark.parametrize("text,words", [
    ("lifts: {retention_rate: {relative: 0.1}}\n", "scenario"),
    ("scenario: nope.yaml\nlifts: {retention_rate: {relative: 0.1}}\n", "file not found"),
    ("scenario: SCEN\nlifts: {retention: {relative: 0.1}}\n", "lifts.retention"),
    ("scenario: SCEN\nlifts: {retention_rate: 0.1}\n", "relative"),
    ("scenario: SCEN\nlifts: {retention_rate: {relative: -2}}\n", "> -1"),
])
def test_bad_evidence_is_one_clear_line(tmp_path, text, words):
    p = tmp_path / "ev.yaml"
    p.write_text(text.replace("SCEN", str(ROOT / "scenarios" / "points_and_tiers.yaml")))
    r = invoke("calibrate", "--response", p)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr
