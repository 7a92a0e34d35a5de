"""The design document is where the code says it is: every reference to it names a section that exists.

Code points at the design as ``docs/DESIGN.md#<anchor>``, the anchor being a heading of that file
as GitHub links it (lower case, punctuation dropped, spaces as hyphens). A reference without an
anchor, to another DESIGN.md, or to a heading that was renamed or removed fails here, naming the
file and line. The design document itself points at nothing outside the repository. Each check is
also run on a small planted example, to show it can fail.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "DESIGN.md"
TARGET = "docs/DESIGN.md"
# where code and data live (the README may also link to the document as a whole)
SCANNED = ("sim", "calibration", "reports", "tests", "benchmarks", "scenarios")
TEXT = {".py", ".yaml", ".yml", ".md", ".txt", ".j2", ".toml", ".json", ".csv", ".cfg", ".ini"}
SKIP_DIRS = {".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}
OUTSIDE = ("../shared", "/work/shared")  # notes kept beside the repository: never pointed at
# a mention of the file: an optional path before it, an optional anchor after it
MENTION = re.compile(r"(?P<path>[\w./-]*?)DESIGN\.md(?:#(?P<anchor>[\w-]*))?")


def anchor_of(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, every character but letters, digits, spaces,
    hyphens and underscores dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every heading's anchor in a markdown text (headings inside fenced code are not headings; a
    repeated heading gets -1, -2, ... as GitHub numbers it)."""
    out, seen, fenced = set(), {}, False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not m:
            continue
        a = anchor_of(m.group(1))
        n = seen.get(a, 0)
        seen[a] = n + 1
        out.add(a if n == 0 else f"{a}-{n}")
    return out


def bad_references(text: str, known: set[str], where: str, need_anchor=True) -> list[str]:
    """Where ``text`` mentions DESIGN.md other than as docs/DESIGN.md#<a heading that exists>."""
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in MENTION.finditer(line):
            path, anchor = m.group("path"), m.group("anchor")
            if not (path == "docs/" or path.endswith("/docs/")):
                found.append(f"{where}:{lineno}: {m.group(0)!r} is not {TARGET}")
            elif anchor is None or anchor == "":
                if need_anchor:
                    found.append(f"{where}:{lineno}: {m.group(0)!r} names no section (write {TARGET}#<anchor>)")
            elif anchor not in known:
                found.append(f"{where}:{lineno}: {m.group(0)!r}: no heading of {TARGET} has the anchor {anchor!r}")
    return found


def scanned_files():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            rel = path.relative_to(ROOT)
            if path.is_file() and path.suffix in TEXT and not SKIP_DIRS & set(rel.parts) \
                    and path != Path(__file__).resolve():
                yield rel, path.read_text(encoding="utf-8", errors="replace")


def test_the_design_document_has_the_sections_the_project_relies_on():
    known = anchors(DESIGN.read_text(encoding="utf-8"))
    for section in ("architecture", "the-daily-loop", "the-behavioural-model-and-its-sources", "the-economics",
                    "the-run-layer", "the-studies", "summaries-verdicts-and-reports", "why-mesa-sits-where-it-does",
                    "adding-a-mechanic"):
        assert section in known, f"{TARGET} has no section {section!r}"


def test_every_reference_to_the_design_names_a_section_that_exists():
    known = anchors(DESIGN.read_text(encoding="utf-8"))
    found, seen = [], 0
    for rel, text in scanned_files():
        seen += text.count("DESIGN.md")
        found += bad_references(text, known, str(rel))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found += bad_references(readme, known, "README.md", need_anchor=False)
    assert seen >= 5, "the scan found almost no references: did it read the project?"
    assert not found, "\n".join(found)


def test_the_design_document_links_only_to_its_own_headings_and_nothing_outside():
    text = DESIGN.read_text(encoding="utf-8")
    known = anchors(text)
    broken = [a for a in re.findall(r"\]\(#([\w-]+)\)", text) if a not in known]
    assert not broken, f"links in {TARGET} to headings it does not have: {broken}"
    outside = [f"line {i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1)
               if any(o in line for o in OUTSIDE)]
    assert not outside, f"{TARGET} points outside the repository: {outside}"
    assert not bad_references(text, known, TARGET, need_anchor=False)


def test_the_checks_find_planted_mistakes():
    doc = "# Title\n\n## The daily loop\n\n```\n# not a heading\n```\n\n## Notes\n\n## Notes\n"
    known = anchors(doc)
    assert known == {"title", "the-daily-loop", "notes", "notes-1"}
    assert anchor_of("Optimise, and its selection guarantee") == "optimise-and-its-selection-guarantee"
    assert anchor_of("The customer base: buy till you die") == "the-customer-base-buy-till-you-die"
    planted = (
        '"""Steps in docs/DESIGN.md#the-daily-loop."""\n'     # 1: fine
        "# see DESIGN.md\n"                                     # 2: not docs/
        "# see docs/DESIGN.md for more\n"                       # 3: no section
        "# see docs/DESIGN.md#the-nightly-loop\n"               # 4: no such heading
        "# see ../shared/DESIGN.md#the-daily-loop\n"            # 5: another file
        "# DESIGNS = ('grid',) is not a mention\n"              # 6: fine
    )
    lines = sorted(int(f.split(":")[1]) for f in bad_references(planted, known, "planted.py"))
    assert lines == [2, 3, 4, 5], lines
    assert [int(f.split(":")[1]) for f in bad_references(planted, known, "README.md", need_anchor=False)] == [2, 4, 5]
