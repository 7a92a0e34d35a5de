"""The page model of every HTML report, and how it becomes one self-contained file.

Renderers (one module per report type in this package) build a ``Page`` of
sections, tables and charts from a summary; ``render_page`` draws it with the
Jinja2 template, inlining plotly.js once, and nothing refers to any network
address (no CDN, no web font, no MathJax), so the file opens offline and as an
e-mail attachment. Plotly, because its charts are interactive (hover for the
exact figure and interval, zoom into a month) from one inlined script with no
server; Jinja2, so the page is a template rather than HTML built by
concatenating strings (and text is escaped). The page carries no timestamp, so
a report rebuilt from saved files is the same bytes as the live one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sim.errors import UserError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass
class Cell:
    text: str
    sub: str = ""        # small print under the text (a parameter's description)
    cls: str = ""        # "good", "bad", "strong"


@dataclass
class Table:
    columns: list
    rows: list
    numeric: tuple = ()  # indexes of right-aligned (number) columns
    caption: str = ""

    def __post_init__(self):
        self.rows = [[c if isinstance(c, Cell) else Cell("" if c is None else str(c)) for c in r] for r in self.rows]


@dataclass
class Chart:
    figure: dict
    caption: str = ""
    wide: bool = False   # spans the page rather than half of it
    id: str = ""         # set when the page is assembled
    json: str = ""


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list = field(default_factory=list)
    charts: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    notes: list = field(default_factory=list)


@dataclass
class Tile:
    label: str
    value: str
    sub: str = ""


# How each verdict kind looks: pays green, does not pay red, the rest amber or grey.
TONES = {"pays": "pays", "does_not_pay": "fails", "cannot_tell": "unsure", "one_replication": "unsure",
         "no_effect": "neutral", "reproduced": "pays", "partly_reproduced": "unsure",
         "matches": "pays", "does_not_match": "fails"}


@dataclass
class Verdict:
    """The verdict as the page shows it: the summary's own verdict (sim.verdict), never decided here."""
    kind: str            # the summary's verdict kind
    headline: str        # as the summary words it ("DOES NOT PAY"), shown as a badge
    sentence: str
    tiles: list
    sure: str            # what the intervals include
    notes: list = field(default_factory=list)

    @property
    def tone(self) -> str:
        return TONES.get(self.kind, "neutral")

    @classmethod
    def of(cls, verdict: dict, tiles=(), sure="") -> "Verdict":
        """The page's view of a summary's verdict (its ``verdict`` block)."""
        v = verdict or {}
        sentence = v.get("sentence") or ""
        return cls(v.get("kind", "cannot_tell"), v.get("headline") or "", sentence[:1].upper() + sentence[1:],
                   list(tiles), sure, list(v.get("notes") or []))


@dataclass
class Source:
    """One resolved scenario, as YAML, for the reproduce block."""
    label: str
    file_name: str
    yaml: str


@dataclass
class Page:
    kind: str
    title: str
    subtitle: str
    facts: list
    verdict: Verdict
    sections: list
    sources: list
    command: str
    version: str
    seed: object
    replications: object
    embedded_id: str
    embedded: object     # JSON-ready: the resolved scenario(s), parsed back by a test and by users
    warnings: list = field(default_factory=list)


# --------------------------------------------------------------------------- the page

_ENV = None


def _environment():
    global _ENV
    if _ENV is None:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined
        _ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                           trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return _ENV


def script_json(x) -> str:
    """JSON safe inside a <script> element: '<', '>' and '&' escaped as \\u sequences (still valid JSON)."""
    text = json.dumps(x, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def plotly_js() -> str:
    from plotly.offline import get_plotlyjs
    js = get_plotlyjs()
    if "</script" in js.lower():  # would end the inline script early
        raise RuntimeError("this plotly.js cannot be inlined: it contains '</script'")
    return js


def render_page(page: Page) -> str:
    from markupsafe import Markup
    n = 0
    for sec in page.sections:
        for chart in sec.charts:
            n += 1
            chart.id = f"chart-{n}"
            chart.json = Markup(script_json(chart.figure))
    template = _environment().get_template("report.html.j2")
    return template.render(page=page, plotly_js=Markup(plotly_js()),
                           embedded_json=Markup(script_json(page.embedded)) if page.embedded is not None else None)


def write_report(path, html: str, option="--html") -> Path:
    """Write the page whole or not at all (sim.files.write_atomic: a temporary file, flushed, then a
    rename), so an interrupted write never leaves half a report; a folder that cannot be written is
    the user's to fix (one line, exit code 2)."""
    from sim.files import write_text
    return write_text(path, html, f"{option} {path}",
                      "free space or choose a folder this user can write, then run the same command again")


def check_writable(path, option="--html"):
    """Before a long run: the report's folder must exist (so the run is not wasted)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserError(f"{option} {path}: is a folder; allowed: a file name such as report.html")
    if not parent.is_dir():
        raise UserError(f"{option} {path}: the folder {parent} does not exist")
    from sim.files import writable_folder
    writable_folder(parent, f"{option} {path}: the folder")  # read-only or not this user's: refused now

