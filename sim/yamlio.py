"""Reading YAML that can neither lie nor blow up.

Scenario files and calibration inputs are read through :func:`read_file` (or
:func:`loads` for a string), which keeps ``yaml.safe_load`` semantics (plain
mappings, lists, text, numbers, booleans, dates; no Python objects) and adds:

* a key given twice in one mapping (at the top or nested) is refused, naming both
  lines (plain YAML silently keeps the last one);
* the document is bounded: at most ``MAX_NODES`` values once its aliases
  (``*name``) are expanded (a "billion laughs" file expands to billions), at most
  ``MAX_DEPTH`` levels of nesting, and no alias that contains itself;
* the file is checked before it is read: it must be a regular file (not a folder,
  a device such as /dev/zero, a pipe or a socket) of at most ``max_bytes``;
* an impossible date such as ``2027-02-30`` stays text, so the schema refuses it
  with the field's name instead of a crash;
* the C parser (libyaml) is used when PyYAML has it: a 5 MB file loads in a second.

Problems are raised as :class:`YamlProblem` (the message only, without the file
name); callers wrap them in the error of their kind (``ScenarioError``, ``DataError``).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

MAX_BYTES = 5 * 2**20   # a scenario, a KPI target or an evidence file: a few KB in practice
MAX_NODES = 100_000     # values in the document once aliases are expanded
MAX_DEPTH = 64          # levels of nesting

_Base = getattr(yaml, "CSafeLoader", None) if getattr(yaml, "__with_libyaml__", False) else None
_Base = _Base or yaml.SafeLoader
_MERGE = "tag:yaml.org,2002:merge"


class YamlProblem(Exception):
    """What is wrong with a YAML text, in one line (the caller adds the file name)."""


class _DuplicateKey(yaml.YAMLError):
    pass


class StrictLoader(_Base):
    """``yaml.safe_load`` semantics; duplicate keys are an error; impossible dates stay text."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node, deep=False)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise _DuplicateKey(
                        f"key '{key}' is given twice, at line {first} and at line {line} (YAML would silently "
                        "keep the last one); keep one of them")
                seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):  # 2027-02-30: left as text for the schema to refuse by name
            return self.construct_scalar(node)


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)


def _where(err) -> str:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def loads(text: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH):
    """The data of a YAML text (safe types only), bounded; raises YamlProblem."""
    return loads_counted(text, max_nodes=max_nodes, max_depth=max_depth)[0]


def loads_counted(text: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH):
    """(data, number of values once aliases are expanded) of a YAML text; raises YamlProblem."""
    try:
        _count_values(text, max_nodes)  # a quick pass over the parser's events: a huge document stops here
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
    except _DuplicateKey as e:
        raise YamlProblem(str(e)) from None
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e).strip().splitlines()[0]
        raise YamlProblem(f"not valid YAML{_where(e)}: {problem}") from None
    except RecursionError:
        raise YamlProblem(f"not valid YAML: nests more than {max_depth} levels deep") from None
    except (ValueError, OverflowError, TypeError) as e:
        raise YamlProblem(f"not valid YAML: {e}") from None
    return data, check_bounded(data, max_nodes=max_nodes, max_depth=max_depth)


_VALUE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)


def _count_values(text: str, max_nodes: int):
    n = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, _VALUE_EVENTS):
            n += 1
            if n > max_nodes:
                raise YamlProblem(f"holds more than {max_nodes:,} values; loyalsim's files hold a few hundred "
                                  "(is this the right file?)")


def check_bounded(data, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> int:
    """The number of values in ``data`` with every shared (aliased) part counted each time it
    appears; raises YamlProblem past ``max_nodes``, ``max_depth`` or on a cycle."""
    sizes: dict[int, int] = {}
    open_ids: set[int] = set()

    def size(x, depth):
        if not isinstance(x, (dict, list)):
            return 1
        if depth > max_depth:
            raise YamlProblem(f"nests more than {max_depth} levels deep; loyalsim's files need a few")
        key = id(x)
        if key in sizes:
            return sizes[key]
        if key in open_ids:
            raise YamlProblem("an alias (*name) refers to the mapping or list that contains it (a cycle); "
                              "write the values out instead")
        open_ids.add(key)
        n = 1
        for v in (x.values() if isinstance(x, dict) else x):
            n += (1 if isinstance(x, dict) else 0) + size(v, depth + 1)
            if n > max_nodes:
                raise YamlProblem(f"holds more than {max_nodes:,} values once its aliases (*name) are expanded "
                                  "(an alias bomb?); loyalsim's files hold a few hundred")
        open_ids.discard(key)
        sizes[key] = n
        return n

    return size(data, 0)


def read_text(path, *, max_bytes: int = MAX_BYTES, what: str = "YAML") -> str:
    """The text of a file, checked before reading: a regular file of at most ``max_bytes``.

    Raises FileNotFoundError if it does not exist (the caller says where it was named),
    YamlProblem for everything else.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise YamlProblem(f"cannot read the file: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise YamlProblem(f"is a folder; expected a {what} file")
    if not stat.S_ISREG(st.st_mode):
        raise YamlProblem(f"is not a regular file (a device, pipe or socket); expected a {what} file")
    too_big = f"is larger than {max_bytes / 2**20:g} MB; a {what} file is a few KB (is this the right file?)"
    if st.st_size > max_bytes:
        raise YamlProblem(too_big)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as e:
        raise YamlProblem(f"cannot read the file: {e.strerror or e}") from None
    if len(raw) > max_bytes:
        raise YamlProblem(too_big)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise YamlProblem(f"is not UTF-8 text (byte 0x{raw[e.start]:02x} at position {e.start}); "
                          "save it as UTF-8") from None


def read_file(path, *, max_bytes: int = MAX_BYTES, what: str = "YAML"):
    """The data of a YAML file, read safely and bounded (see the module docstring)."""
    return loads(read_text(path, max_bytes=max_bytes, what=what))
