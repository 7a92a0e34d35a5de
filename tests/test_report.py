"""The HTML report: one self-contained file, verdict first, that reproduces itself, checked in a real browser.

Unit tests read the file as text; the browser tests open it in headless Debian Chromium
(driven by Playwright, never downloading a browser) with every request but the file itself
refused, and look at what a reader sees. Set LOYALSIM_SCREENSHOT_DIR to also write the
screenshots there (``LOYALSIM_SCREENSHOT_DIR=reports/screenshots`` refreshes the README's
image from the flagship at its full size).
"""
import html as htmllib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import SCENARIOS, invoke

FLAGSHIP = SCENARIOS / "points_and_tiers.yaml"
SMALL = ["--set", "customers.initial=1500", "--set", "horizon_days=200", "--set", "customers.history_days=200",
         "-r", "2"]
COMPARED = [SCENARIOS / "points_and_tiers.yaml", SCENARIOS / "tiers.yaml"]
MAX_BYTES = 10 * 1024 * 1024
SCREENSHOT_DIR = os.environ.get("LOYALSIM_SCREENSHOT_DIR")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _cli(*args):
    r = invoke(*args)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """The flagship at test size, run once through the CLI with --out, --html and --json."""
    d = tmp_path_factory.mktemp("run")
    r = _cli("run", FLAGSHIP, *SMALL, "--out", d / "out", "--html", d / "report.html", "--json")
    return {"dir": d, "out": d / "out", "html": d / "report.html", "text": (d / "report.html").read_text(),
            "doc": json.loads(r.stdout)}


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    d = tmp_path_factory.mktemp("compare")
    r = _cli("compare", *COMPARED, *SMALL, "--html", d / "compare.html", "--json")
    return {"html": d / "compare.html", "text": (d / "compare.html").read_text(), "doc": json.loads(r.stdout)}


# --------------------------------------------------------------------------- studies, as a user runs them

STRATEGIES = [SCENARIOS / "points_and_tiers.yaml", SCENARIOS / "tiers.yaml", SCENARIOS / "simple_points.yaml"]
# the pages are checked for what they show, not for the numbers' precision: smaller than a run's page
STUDY_SMALL = ["--set", "customers.initial=600", "--set", "horizon_days=120", "--set", "customers.history_days=120",
               "-r", "2"]


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """A one-field sweep, a two-field grid, a three-field Latin hypercube and a one- and a three-strategy
    uncertainty analysis, each run once through the CLI with --out, --html and --json (small sizes), and
    its terminal answer read back from the same store (no second simulation)."""
    d = tmp_path_factory.mktemp("studies")
    runs = {
        "sweep_1": ["sweep", FLAGSHIP, "--vary", "programme.points.earn_per_currency=0.05:0.3:4"],
        "sweep_2": ["sweep", FLAGSHIP, "--vary", "programme.points.earn_per_currency=0.05:0.3:3",
                    "--vary", "programme.tiers.levels.1.threshold=2000,4000"],
        "sweep_3": ["sweep", FLAGSHIP, "--design", "lhs", "--samples", "5",
                    "--vary", "programme.points.earn_per_currency=0.05:0.3",
                    "--vary", "programme.tiers.levels.1.threshold=2000:4000",
                    "--vary", "programme.points.point_value=0.005:0.02"],
        "psa": ["psa", FLAGSHIP, "--draws", "8"],
        "psa_3": ["psa", *STRATEGIES, "--draws", "8", "--no-tornado"],
    }
    out = {}
    for name, args in runs.items():
        r = _cli(*args, *STUDY_SMALL, "-j", "1", "--out", d / name, "--html", d / f"{name}.html", "--json")
        text = _cli(*args, *STUDY_SMALL, "-j", "1", "--store", d / name / "store").stdout
        out[name] = {"html": d / f"{name}.html", "text": (d / f"{name}.html").read_text(), "out": d / name,
                     "doc": json.loads(r.stdout), "terminal": text}
    return out


# --------------------------------------------------------------------------- reading a page as text

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def scripts(text):
    return [(attrs, body) for attrs, body in SCRIPT.findall(text)]


def markup_without_scripts(text):
    return SCRIPT.sub("<script></script>", text)


def embedded(text, element_id):
    for attrs, body in scripts(text):
        if f'id="{element_id}"' in attrs:
            return json.loads(body)
    raise AssertionError(f"no <script id={element_id}> in the page")


def figures(text):
    return [(re.search(r'data-target="([^"]+)"', attrs).group(1), json.loads(body))
            for attrs, body in scripts(text) if "loyalsim-figure" in attrs]


def assert_self_contained(text):
    from plotly.offline import get_plotlyjs
    plotly_js = get_plotlyjs()
    assert text.count(plotly_js) == 1, "plotly.js must be inlined exactly once"
    assert text.count(plotly_js[:200]) == 1
    assert len(text.encode()) < MAX_BYTES
    markup = markup_without_scripts(text)
    # nothing in the page's own markup loads anything: no src/href to an address, no stylesheet link, no @import
    assert not re.search(r"""(src|href|action|poster|data)\s*=\s*["']?\s*(https?:)?//""", markup, re.I), \
        re.search(r"""(src|href|action|poster|data)\s*=\s*["']?\s*(https?:)?//.{0,80}""", markup, re.I).group(0)
    assert "<link" not in markup.lower() and "@import" not in markup.lower()
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", markup, re.I)
    assert "mathjax" not in markup.lower()
    for attrs, body in scripts(text):
        if "src=" in attrs:
            raise AssertionError(f"a script loads from {attrs}")
        if body is not None and "application/json" in attrs:
            assert "http://" not in body and "https://" not in body, "no address in the embedded data"
    # every chart has its figure, and every figure its chart
    divs = re.findall(r'<div class="plot loyalsim-chart" id="([^"]+)"', text)
    assert divs and sorted(divs) == sorted(t for t, _ in figures(text))
    for _, fig in figures(text):
        assert fig["data"] and fig["layout"]["title"]["text"], "every chart has data and a title"


# --------------------------------------------------------------------------- (a) the renderer

@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_run_report_is_self_contained_and_verdict_first(saved_run):
    text, doc = saved_run["text"], saved_run["doc"]
    assert_self_contained(text)
    from sim.format import money
    verdict = text[text.index('id="verdict"'):text.index("</div>", text.index('class="sure"'))]
    assert f'data-kind="{doc["verdict"]["kind"]}"' in verdict and htmllib.escape(doc["verdict"]["headline"]) in verdict
    assert htmllib.escape(doc["verdict"]["sentence"][1:]) in verdict
    assert money(doc["economics"]["incremental_profit"]["mean"], signed=True) in verdict
    assert "simulation noise only" in verdict and "2 replications" in verdict
    # verdict before every section
    assert text.index('id="verdict"') < text.index('<section id="changes"')
    titles = [fig["layout"]["title"]["text"] for _, fig in figures(text)]
    for wanted in ("Extra active customers", "Extra orders per month", "Change in the average check",
                   "Extra revenue per month", "Cumulative incremental profit",
                   "From extra gross profit to incremental profit",
                   "Points issued, redeemed and expired", "Members by tier level", "Movements between levels"):
        assert any(wanted in t for t in titles), (wanted, titles)
    # the assumptions in force, each with its range and source
    rows = json.loads((saved_run["out"] / "assumptions.json").read_text())
    assert rows, "the flagship has behavioural assumptions"
    for r in rows:
        assert f">{htmllib.escape(r['field'])}<" in text


def test_report_embeds_the_resolved_scenario_that_reproduces_the_numbers(saved_run, tmp_path):
    import sim
    from sim.scenario import validate
    text, doc = saved_run["text"], saved_run["doc"]
    resolved = embedded(text, "loyalsim-scenario")
    assert resolved == yaml.safe_load((saved_run["out"] / "scenario.resolved.yaml").read_text())
    assert re.search(r"<dt>seed</dt><dd>1</dd>", text) and re.search(r"<dt>replications</dt><dd>2</dd>", text)
    assert f"<dt>loyalsim version</dt><dd>{sim.__version__}</dd>" in text
    # the YAML a reader copies from the page, run through the CLI, gives the same numbers
    pre = re.search(r'<pre class="scenario-yaml"[^>]*>(.*?)</pre>', text, re.S).group(1)
    copied = tmp_path / "scenario.yaml"
    copied.write_text(htmllib.unescape(pre))
    again = json.loads(_cli("run", copied, "--json").stdout)
    assert {k: v for k, v in again.items() if k != "file"} == {k: v for k, v in doc.items() if k != "file"}
    # and the JSON copy, through the Python API
    result = sim.run(validate(resolved, file="<embedded>"), backend="serial")
    assert result.summary()["economics"] == doc["economics"]


def test_report_dir_reproduces_the_report_without_simulating(saved_run, tmp_path, monkeypatch):
    import sim.runner
    import sim.work

    def refuse(*a, **k):
        raise AssertionError("loyalsim report must not simulate")
    monkeypatch.setattr(sim.work, "simulate", refuse)
    monkeypatch.setattr(sim.runner, "simulate", refuse)
    monkeypatch.setattr(sim.runner, "execute", refuse)
    again = tmp_path / "again.html"
    r = _cli("report", saved_run["out"], "--html", again)
    assert str(again) in r.stdout
    assert again.read_bytes() == saved_run["html"].read_bytes()
    # the default place: DIR/report.html
    out = tmp_path / "out"
    shutil.copytree(saved_run["out"], out, ignore=shutil.ignore_patterns("store"))
    _cli("report", out)
    assert (out / "report.html").read_bytes() == saved_run["html"].read_bytes()


@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_report_dir_from_parquet_output(tmp_path):
    d = tmp_path / "out"
    _cli("run", FLAGSHIP, *SMALL, "--out", d, "--format", "parquet", "--no-plots", "--html", tmp_path / "run.html")
    assert (d / "monthly.parquet").exists() and (d / "cost_lines.parquet").exists()
    _cli("report", d, "--html", tmp_path / "again.html")
    assert (tmp_path / "again.html").read_bytes() == (tmp_path / "run.html").read_bytes()


def test_report_dir_mistakes_get_one_line_and_exit_2(tmp_path, saved_run):
    r = invoke("report", tmp_path / "nope")
    assert r.returncode == 2 and "nope" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "empty").mkdir()
    r = invoke("report", tmp_path / "empty")
    assert r.returncode == 2 and "summary.json" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = invoke("report", saved_run["out"], "--html", tmp_path / "missing" / "r.html")
    assert r.returncode == 2 and "--html" in r.stderr and "does not exist" in r.stderr
    # checked before simulating, so a long run is not wasted
    r = invoke("run", FLAGSHIP, *SMALL, "--html", tmp_path / "missing" / "r.html")
    assert r.returncode == 2 and "--html" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_compare_report(compared):
    text, doc = compared["text"], compared["doc"]
    assert_self_contained(text)
    verdict = htmllib.unescape(text[text.index('id="verdict"'):text.index('<nav class="toc"')])
    assert doc["verdict"]["recommendation"] in verdict and doc["verdict"]["sentence"][1:] in verdict
    first = next(r for r in doc["ranking"] if not r.get("no_programme"))
    if first["beats_next"]:
        from sim.format import probability
        assert probability(first["beats_next"]["probability"]) in verdict
    assert "no programme" in text[text.index('<section id="strategies"'):]
    titles = [fig["layout"]["title"]["text"] for _, fig in figures(text)]
    for wanted in ("Incremental profit by strategy", "Cumulative incremental profit by strategy",
                   "Lift against no programme", "Programme cost by strategy and ledger line"):
        assert any(wanted in t for t in titles), (wanted, titles)
    strategies = embedded(text, "loyalsim-scenarios")
    assert [s["strategy"] for s in strategies] == list(doc["strategies"])
    assert all(s["scenario"]["seed"] == doc["seed"] for s in strategies)


@pytest.mark.slow  # 22 s measured: out of the fast tier (-m 'not slow')
def test_sweep_and_psa_pages_from_their_summaries(studies):
    for st in studies.values():
        assert_self_contained(st["text"])
    one, doc = htmllib.unescape(studies["sweep_1"]["text"]), studies["sweep_1"]["doc"]
    best = doc["best"][0]
    assert f"programme.points.earn_per_currency = {best['programme.points.earn_per_currency']:.4g}" in one
    assert any(f["data"][0]["type"] == "heatmap" for _, f in figures(studies["sweep_2"]["text"]))
    assert len(figures(studies["sweep_3"]["text"])) == 3  # one scatter per varied field
    psa, pdoc = htmllib.unescape(studies["psa"]["text"]), studies["psa"]["doc"]
    strategy = next(iter(pdoc["strategies"].values()))
    from sim.format import probability
    assert probability(strategy["probability_pays"]) in psa
    for group in pdoc["evppi"]:
        assert group in psa
    titles = [f["layout"]["title"]["text"] for _, f in figures(studies["psa"]["text"])]
    assert any("EVPPI" in t for t in titles) and any("paid back" in t for t in titles)
    assert "they include the assumptions and simulation noise" in psa


def test_a_three_strategy_analysis_names_every_strategy_and_the_choice(studies):
    st = studies["psa_3"]
    text, doc = htmllib.unescape(st["text"]), st["doc"]
    assert len(doc["strategies"]) == 3
    verdict = text[text.index('id="verdict"'):text.index('<nav class="toc"')]
    recommended = doc["verdict"]["recommendation"]
    assert recommended == doc["decision"]["best_on_expectation"] and recommended in verdict
    assert "Uncertainty analysis: 3 strategies" in text
    for name in doc["strategies"]:
        assert f"{name}: how sure" in text                                        # each its own section
    start = text.index('<section id="decision"')
    decision = text[start:text.index("</section>", start)]
    from sim.format import probability
    for option, p in doc["decision"]["probability_best"].items():
        assert option in decision and probability(p) in decision
    # the terminal says the same
    assert f"Verdict: {doc['verdict']['headline']}" in st["terminal"] and recommended in st["terminal"]
    assert [s["name"] for s in embedded(st["text"], "loyalsim-scenarios")] == [
        json.loads(json.dumps(n)) for n in doc["strategies"]]


# --------------------------------------------------------------------------- (c) in a real browser

CHROMIUM = os.environ.get("LOYALSIM_CHROMIUM") or "/usr/bin/chromium"


def _chromium():
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    exe = _chromium()
    if not exe:
        pytest.skip(f"headless Chromium not found at {CHROMIUM} nor as 'chromium' on PATH (Debian: apt-get install "
                    "chromium; or set LOYALSIM_CHROMIUM to its path); the report is not checked in a browser")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_report(browser, path: Path, screenshot: Path | None = None, also_as: str | None = None) -> dict:
    """Open the file with every other request refused; what a reader sees, and what it tried to load."""
    path = Path(path).resolve()
    url = path.as_uri()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, refused = [], []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def route(r):
        if r.request.url == url:
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    page.on("request", lambda r: None if r.url == url or r.url.startswith(("data:", "blob:")) or r.url in refused
            else refused.append(r.url))
    page.goto(url, wait_until="load")
    page.wait_for_function("() => Array.from(document.querySelectorAll('.loyalsim-chart'))"
                           ".every(d => d.querySelector('svg.main-svg'))", timeout=60000)
    charts = page.evaluate("""() => Array.from(document.querySelectorAll('.loyalsim-chart')).map(d => {
        const marks = Array.from(d.querySelectorAll(
                'svg.main-svg g.trace path, svg.main-svg g.trace image, svg.main-svg g.hm image'))
            .filter(e => (e.tagName === 'image') || ((e.getAttribute('d') || '').replace(/M0,0Z/g, '').length > 4));
        const box = d.getBoundingClientRect();
        return {id: d.id, marks: marks.length, width: box.width, height: box.height,
                title: (d.querySelector('.gtitle') || {}).textContent || ''};
    })""")
    verdict = page.inner_text("#verdict")
    if screenshot is not None:
        page.screenshot(path=str(screenshot))
        if SCREENSHOT_DIR and also_as:
            Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SCREENSHOT_DIR) / also_as))
    page.close()
    return {"problems": problems, "refused": refused, "charts": charts, "verdict": verdict}


def assert_read_cleanly(seen, min_charts):
    assert seen["refused"] == [], f"the report asked the network for {seen['refused']}"
    assert seen["problems"] == [], seen["problems"]
    assert len(seen["charts"]) >= min_charts
    for c in seen["charts"]:
        assert c["marks"] > 0 and c["width"] > 200 and c["height"] > 150, f"chart not drawn: {c}"
        assert c["title"], f"chart without a title: {c}"


@pytest.fixture(scope="module")
def flagship_html(saved_run, tmp_path_factory):
    """The run report the browser opens: the test-size run, or with LOYALSIM_SCREENSHOT_DIR set, the flagship at its
    own size (so the README's screenshot shows the real answer)."""
    if not SCREENSHOT_DIR:
        return saved_run["html"]
    path = tmp_path_factory.mktemp("flagship") / "flagship.html"
    _cli("run", FLAGSHIP, "--html", path)
    return path


@pytest.mark.slow  # 8 s measured: out of the fast tier (-m 'not slow')
def test_run_report_in_a_browser(browser, flagship_html, tmp_path):
    seen = open_report(browser, flagship_html, tmp_path / "report_top.png", also_as="report_top.png")
    assert_read_cleanly(seen, min_charts=9)
    assert re.search(r"PAYS|DOES NOT PAY|CANNOT TELL YET", seen["verdict"].upper())
    assert "INCREMENTAL PROFIT" in seen["verdict"].upper()
    assert (tmp_path / "report_top.png").stat().st_size > 10_000


@pytest.mark.slow  # 5 s measured: out of the fast tier (-m 'not slow')
def test_compare_report_in_a_browser(browser, compared, tmp_path):
    seen = open_report(browser, compared["html"], tmp_path / "compare_top.png")
    assert_read_cleanly(seen, min_charts=4)
    assert compared["doc"]["verdict"]["recommendation"] in seen["verdict"]


@pytest.mark.slow
def test_sweep_and_psa_reports_in_a_browser(browser, studies, tmp_path):
    seen = open_report(browser, studies["sweep_2"]["html"], tmp_path / "sweep_top.png")
    assert_read_cleanly(seen, min_charts=1)
    seen = open_report(browser, studies["psa"]["html"], tmp_path / "psa_top.png")
    assert_read_cleanly(seen, min_charts=3)  # distribution, payback by month, EVPPI (and the tornado)


@pytest.mark.slow  # 5 s measured: out of the fast tier (-m 'not slow')
def test_a_three_strategy_analysis_in_a_browser(browser, studies, tmp_path):
    st = studies["psa_3"]
    seen = open_report(browser, st["html"], tmp_path / "psa3_top.png")
    assert_read_cleanly(seen, min_charts=6)
    assert st["doc"]["verdict"]["recommendation"] in seen["verdict"]
    assert st["doc"]["verdict"]["headline"] in seen["verdict"].upper()


def test_saved_studies_rebuild_to_the_same_bytes_without_simulating(studies, tmp_path, monkeypatch):
    """loyalsim report DIR rebuilds each study's page from its --out folder, by the kind its summary says."""
    import sim.runner
    monkeypatch.setattr(sim.runner, "execute", lambda *a, **k: (_ for _ in ()).throw(AssertionError("simulated")))
    for name, st in studies.items():
        _cli("report", st["out"], "--html", tmp_path / f"{name}_again.html")
        assert (tmp_path / f"{name}_again.html").read_bytes() == st["html"].read_bytes(), name


def test_sweep_table_shows_relative_lifts_as_percentages():
    """The sweep's columns are lift_<metric> (a change in the metric's unit) and lift_<metric>_relative (a share)."""
    from reports.html.sweep import _sweep_column, _sweep_value
    assert _sweep_value("lift_revenue_relative", 0.016, "EUR") == "+1.6%"
    assert "EUR" not in _sweep_value("lift_revenue_relative", 0.016, "EUR")
    assert _sweep_column("lift_revenue_relative") == "revenue: change (%)"
    assert "EUR" in _sweep_value("lift_revenue", 1600.0, "EUR")
