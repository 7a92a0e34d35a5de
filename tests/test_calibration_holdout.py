"""Holdout validation on CDNOW against the published figures, and the model comparison."""

import numpy as np
import pytest

from calibration.datasets import cdnow_path
from calibration.pipeline import calibrate
from calibration.report import report_dict, report_text


@pytest.fixture(scope="module")
def result():
    return calibrate(cdnow_path(), calibration_end="1997-09-30")


def test_actual_holdout_purchases_exactly(result):
    for validation in result.validations.values():
        assert validation.actual_repeat_purchases == 1882
        assert validation.holdout_length == 39.0


def test_predicted_holdout_purchases(result):
    v = result.validations
    assert v["bgnbd"].predicted_repeat_purchases == pytest.approx(1667, rel=0.01)
    assert v["paretonbd"].predicted_repeat_purchases == pytest.approx(1745, rel=0.01)
    assert v["bgnbd"].error == pytest.approx(-0.11, abs=0.01)
    assert v["paretonbd"].error == pytest.approx(-0.07, abs=0.01)


def test_cumulative_tracking(result):
    v = result.validations
    tracking = v["bgnbd"].tracking
    assert len(tracking) == 78
    assert tracking["actual_cumulative"].iloc[38] == 2457          # end of week 39 = calibration end
    assert tracking["actual_cumulative"].iloc[-1] == 4339
    assert tracking["period_end"].iloc[-1].date().isoformat() == "1998-06-30"
    assert tracking["predicted_cumulative"].iloc[-1] == pytest.approx(4161, rel=0.005)
    assert v["paretonbd"].tracking["predicted_cumulative"].iloc[-1] == pytest.approx(4270, rel=0.005)
    assert np.all(np.diff(tracking["predicted_cumulative"]) >= 0)


def test_correlations_and_conditional_expectations(result):
    v = result.validations
    assert v["bgnbd"].correlation == pytest.approx(0.626, abs=0.001)
    assert v["paretonbd"].correlation == pytest.approx(0.630, abs=0.001)
    table = v["bgnbd"].by_frequency
    assert table["frequency"].tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["customers"].sum() == 2357
    assert table.loc[0, "customers"] == 1411
    assert table.loc[0, "actual_mean"] * 1411 == pytest.approx(334)


def test_holdout_revenue(result):
    v = result.validations["bgnbd"]
    assert v.predicted_revenue == pytest.approx(59_900, rel=0.005)
    assert v.actual_revenue == pytest.approx(70_976.39)


def test_comparison_prefers_pareto_on_the_holdout(result):
    comparison = result.comparison
    assert comparison.better == "paretonbd"
    assert comparison.criterion == "holdout accuracy"
    text = comparison.text
    assert "Pareto/NBD fits better out of sample" in text
    assert "1,882 actual" in text and "-9582.43" in text
    assert result.purchase_model == "paretonbd"


def test_comparison_without_holdout_uses_log_likelihood():
    result = calibrate(cdnow_path())
    assert result.validations == {}
    assert result.comparison.criterion == "log-likelihood"
    better = max(("bgnbd", "paretonbd"), key=lambda n: result.fits[n].log_likelihood)
    assert result.comparison.better == better


def test_reports(result):
    document = report_dict(result)
    assert document["customers"] == 2357 and document["transactions"] == 6696
    for name in ("bgnbd", "paretonbd"):
        model = document["models"][name]
        assert model["converged"] is True
        assert model["holdout"]["actual_repeat_purchases"] == 1882
        assert set(model["standard_errors"]) == set(model["params"])
    assert set(document["models"]["gammagamma"]["params"]) == {"p", "q", "gamma"}
    assert document["selected_model"] == "paretonbd"
    assert document["population"]["customers"]["purchase"]["model"] == "paretonbd"
    text = report_text(result)
    assert "Holdout (1997-10-01 to 1998-06-30)" in text and "Comparison:" in text


def test_holdout_without_repeat_purchases(tmp_path):
    # 40 customers buying weekly in January; the "holdout" (February) is empty.
    rows = ["customer,date,amount"]
    for customer in range(40):
        for day in range(1 + customer % 3, 29, 7 + customer % 5):
            rows.append(f"{customer},2024-01-{day:02d},{10 + customer}")
    rows.append("999,2024-02-20,5")
    path = tmp_path / "january.csv"
    path.write_text("\n".join(rows) + "\n")
    result = calibrate(path, calibration_end="2024-01-31")
    for validation in result.validations.values():
        assert validation.actual_repeat_purchases == 0
        assert np.isnan(validation.error)
    assert "no repeat purchases" in result.comparison.text or result.comparison.better is None
    assert report_text(result)
    assert report_dict(result)["models"]["bgnbd"]["holdout"]["error"] is None
