"""The project's modules import in one direction, and none of them patches the standard library.

Both checks read the source with ``ast`` (nothing is imported): every import counts, at module level
and inside functions alike (a function-local import only delays a circle, it does not remove it).
Each check is run once on a small planted example, to show it can fail.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "calibration", "reports")


# --------------------------------------------------------------------------- the import graph

def project_modules(root=ROOT, packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under the packages (a package is its __init__.py)."""
    out = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _resolve(name: str, modules) -> str | None:
    """The project module an absolute dotted name refers to: itself, or the longest prefix that is one."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(module: str, source: str, modules, is_package=False) -> set[str]:
    """The project modules that ``module``'s source imports, anywhere in the file.

    ``import a.b.c`` and ``from a.b import c`` (when a.b.c is a module) import a.b.c; ``from a.b import
    name`` imports a.b. Relative imports are resolved against the module's package. A call to
    importlib.import_module with a literal name counts too."""
    out = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name, modules)
                if target:
                    out.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}" if base else alias.name
                target = sub if sub in modules else _resolve(base, modules)
                if target:
                    out.add(target)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            target = _resolve(node.args[0].value, modules)
            if target:
                out.add(target)
    out.discard(module)
    return out


def import_graph(root=ROOT, packages=PACKAGES) -> dict[str, set[str]]:
    modules = project_modules(root, packages)
    return {m: imports_of(m, p.read_text(encoding="utf-8"), modules, p.name == "__init__.py")
            for m, p in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        # iterative Tarjan: the project's chains are deep enough to trouble the recursion limit
        work = [(v, iter(sorted(graph.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def a_path_round(component: list[str], graph) -> list[str]:
    """One circle through a component's first module, a -> b -> ... -> a, for the failure message."""
    start, members = component[0], set(component)
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for nxt in sorted(graph[path[-1]] & members):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                paths.append(path + [nxt])
    return component


def _describe(found, graph) -> str:
    return "; ".join(" -> ".join(a_path_round(c, graph)) for c in found)


def test_no_import_cycle_among_the_projects_modules():
    graph = import_graph()
    assert len(graph) > 50 and "sim.engine" in graph["sim.work"]  # it did read the project
    found = cycles(graph)
    assert not found, f"import cycles: {_describe(found, graph)}"


def test_the_api_is_a_facade_nothing_inside_imports():
    """sim.api fronts the run layer (sim.runner) and the studies for users; only the package's lazy
    attributes (sim.run, sim.load, ...) import it, so the studies never import it back."""
    graph = import_graph()
    assert sorted(m for m, deps in graph.items() if "sim.api" in deps) == ["sim"]
    assert "sim.runner" in graph["sim.studies.compare"] and "sim.runner" in graph["sim.studies.plan"]


def test_the_cycle_check_finds_a_planted_circle(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import thing\n",
        "pkg/b.py": "def thing():\n    from . import c\n    return c\n",                 # relative, in a function
        "pkg/c.py": "import importlib\n\ndef late():\n    return importlib.import_module('pkg.a')\n",
        "pkg/d.py": "from pkg import a\nimport os\n",                                        # into the circle only
        "pkg/sub/__init__.py": "from .. import d\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.b"] == {"pkg.c"} and graph["pkg.sub"] == {"pkg.d"} and graph["pkg.d"] == {"pkg.a"}
    found = cycles(graph)
    assert found == [["pkg.a", "pkg.b", "pkg.c"]]
    assert _describe(found, graph) == "pkg.a -> pkg.b -> pkg.c -> pkg.a"


# --------------------------------------------------------------------------- the standard library

def stdlib_patches(source: str, filename="<source>") -> list[str]:
    """Where a source replaces an attribute of a standard-library module (``inspect.getouterframes =
    ...``, ``setattr(inspect, ...)``, ``del os.x``) or plants entries in ``sys.modules``."""
    tree = ast.parse(source)
    stdlib = set(sys.stdlib_module_names)
    bound = {}  # name in this file -> the standard-library module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in stdlib:  # import os.path binds os; import os.path as osp binds osp to os.path
                    bound[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split(".")[0] in stdlib:
                import importlib.util
                for alias in node.names:  # from os import path: a module bound to a name
                    try:
                        is_module = importlib.util.find_spec(f"{node.module}.{alias.name}") is not None
                    except (ImportError, ValueError):
                        is_module = False
                    if is_module:
                        bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def root(expr):
        while isinstance(expr, ast.Attribute):
            expr = expr.value
        return expr.id if isinstance(expr, ast.Name) else None

    def sys_modules(expr):
        return (isinstance(expr, ast.Attribute) and expr.attr == "modules" and isinstance(expr.value, ast.Name)
                and bound.get(expr.value.id) == "sys")

    found = []

    def report(node, what):
        found.append(f"{filename}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for t in targets:
            for part in ast.walk(t):
                if isinstance(part, ast.Attribute) and root(part) in bound and isinstance(part.ctx, (ast.Store, ast.Del)):
                    report(node, f"replaces {ast.unparse(part)} of the standard library")
                elif isinstance(part, ast.Subscript) and sys_modules(part.value):
                    report(node, f"changes {ast.unparse(part)}")
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Name) and f.id in ("setattr", "delattr") and node.args
                    and root(node.args[0]) in bound):
                report(node, f"{f.id} on {ast.unparse(node.args[0])}, a standard-library module")
            if (isinstance(f, ast.Attribute) and sys_modules(f.value)
                    and f.attr in ("__setitem__", "__delitem__", "setdefault", "update", "pop", "popitem", "clear")):
                report(node, f"changes sys.modules ({f.attr})")
    return found


def test_no_module_patches_the_standard_library():
    found = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            found += stdlib_patches(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not found, found


def test_the_patch_check_finds_planted_patches():
    planted = (
        "import inspect, sys\n"
        "import os.path as osp\n"
        "from importlib import util\n"
        "import numpy as np\n"
        "def quiet():\n"
        "    real = inspect.getouterframes\n"
        "    inspect.getouterframes = lambda frame, context=1: []\n"   # 7
        "    sys.modules['mesa.experimental'] = object()\n"            # 8
        "    setattr(osp, 'join', None)\n"                             # 9
        "    del sys.modules['x']\n"                                   # 10
        "    sys.modules.setdefault('y', None)\n"                      # 11
        "    util.find_spec = None\n"                                  # 12
        "    np.seterr = None\n"                                       # 13: numpy is not the standard library
        "    seen = {}\n"
        "    seen['k'] = sys.modules.get('k')\n"                       # reading is fine
        "    inspect.getouterframes = real\n"                          # 16
    )
    lines = sorted(int(f.split(":")[1]) for f in stdlib_patches(planted))
    assert lines == [7, 8, 9, 10, 11, 12, 16], lines
