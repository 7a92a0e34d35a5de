"""The calibrate command: options, output, exit codes, and user errors without tracebacks."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from calibration import cli
from calibration.__main__ import main as module_main
from calibration.datasets import cdnow_path
from sim.errors import DataError, UserError

ROOT = Path(__file__).resolve().parents[1]


def parse(*argv):
    parser = argparse.ArgumentParser(prog="loyalsim")
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["calibrate", *argv])


def test_register_adds_calibrate_with_run():
    args = parse(str(cdnow_path()))
    assert args.func is cli.run
    assert args.model == "best" and args.time_unit == "week" and args.returns == "net"


def test_json_document(capsys, tmp_path):
    out = tmp_path / "population.yaml"
    code = cli.run(parse(str(cdnow_path()), "--calibration-end", "1997-09-30", "--json", "--out", str(out)))
    captured = capsys.readouterr()
    assert code == 0
    document = json.loads(captured.out)             # exactly one JSON document on stdout
    assert document["customers"] == 2357 and document["transactions"] == 6696
    models = document["models"]
    assert models["bgnbd"]["params"]["r"] == pytest.approx(0.243, rel=0.01)
    assert models["paretonbd"]["log_likelihood"] == pytest.approx(-9594.98, abs=0.01)
    assert models["gammagamma"]["params"]["gamma"] == pytest.approx(15.44, rel=0.01)
    assert models["bgnbd"]["holdout"]["actual_repeat_purchases"] == 1882
    assert models["paretonbd"]["holdout"]["predicted_repeat_purchases"] == pytest.approx(1745, rel=0.01)
    assert document["comparison"]["better"] == "paretonbd"
    assert "wrote the population block" in captured.err
    block = yaml.safe_load(out.read_text())
    assert block["customers"]["purchase"]["model"] == "paretonbd"


def test_text_report_and_model_choice(capsys, tmp_path):
    out = tmp_path / "population.yaml"
    code = cli.run(parse(str(cdnow_path()), "--model", "bgnbd", "--time-unit", "day", "--out", str(out)))
    text = capsys.readouterr().out
    assert code == 0
    assert "BG/NBD" in text and "Comparison:" in text and "± " in text
    block = yaml.safe_load(out.read_text())["customers"]
    assert block["time_unit"] == "day" and block["purchase"]["model"] == "bgnbd"


def test_not_converged_writes_nothing_and_exits_2(capsys, tmp_path):
    out = tmp_path / "population.yaml"
    code = cli.run(parse(str(cdnow_path()), "--maxiter", "1", "--json", "--out", str(out)))
    captured = capsys.readouterr()
    assert code == 2
    assert not out.exists()
    document = json.loads(captured.out)
    assert document["models"]["bgnbd"]["converged"] is False
    assert document["population"] is None
    assert "did not converge" in captured.err and "no parameters written" in captured.err


def test_one_source_at_a_time():
    with pytest.raises(UserError, match="kpis.yaml: file not found"):
        cli.run(parse("--targets", "kpis.yaml"))
    with pytest.raises(UserError, match="not several"):
        cli.run(parse(str(cdnow_path()), "--targets", "kpis.yaml"))
    with pytest.raises(UserError, match="one at a time"):
        cli.run(parse("--targets", "kpis.yaml", "--response", "lifts.yaml"))
    with pytest.raises(UserError, match="FILE is required"):
        cli.run(parse())


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (None, [], "file not found"),
        ("customer,date,amount\n1,2024-13-45,3\n", [], "column 'date': data row 1"),
        ("a,b,c\n1,2,3\n", ["--customer-col", "client"], "column 'client' (--customer-col) not found"),
        ("customer,date,amount\n1,2024-01-01,-5\n", [], "column 'amount' has no positive amount"),
        ("customer,date,amount\n1,2024-01-01,5\n1,2024-02-01,5\n", [], "only 1 customers"),
        ("\x00\x01binary", [], "binary"),
    ],
)
def test_user_errors_exit_2_with_one_line(tmp_path, capsys, content, extra, message):
    path = tmp_path / "orders.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError) as error:
        cli.run(parse(str(path), *extra))
    assert str(path) in str(error.value) and message in str(error.value)
    code = module_main([str(path), *extra])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("loyalsim: ") and message in captured.err
    assert "Traceback" not in captured.err and captured.err.count("\n") == 1


@pytest.mark.slow  # 6 s measured: out of the fast tier (-m 'not slow')
def test_python_m_calibration_has_no_traceback(tmp_path):
    bad = tmp_path / "orders.csv"
    bad.write_text("customer,date,amount\n1,soon,3\n")
    for argv in ([str(bad)], ["calibrate", str(tmp_path / "missing.parquet")], [str(bad), "--calibration-end", "x"]):
        done = subprocess.run([sys.executable, "-m", "calibration", *argv], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("loyalsim: ") and "Traceback" not in done.stderr
        assert done.stdout == ""
