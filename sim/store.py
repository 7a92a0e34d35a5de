"""The result store: every finished arm of every replication, on disk, as it arrives.

One Parquet file per record, named by the record's content key (see
``sim.work.record_key``): the monthly series are the table, everything else
(metrics, ledger totals, mechanics' figures) is JSON in the file's metadata.
Writes are atomic (a temporary file in the same folder, flushed to disk, then a
rename: ``sim.files.write_atomic``), so a crash, a kill or a full disk leaves either
the whole file or none of it; a write the machine refuses (no space, no permission,
a read-only file system) is one line naming the store and the cause, and the
records written before it stay, so the same command resumes once it is fixed. A file that is
partial, corrupt or of the wrong shape is treated as missing: the run computes
it again and overwrites it, never reads it as valid.

Because keys name what a record computes (not the run that asked for it), one
store serves reruns, added replications, sweeps, uncertainty draws and
comparisons: whatever was computed once is found again.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sim.files import write_atomic, writable_folder
from sim.metrics import HEADLINE
from sim.work import RECORD_FORMAT, Record

META_KEY = b"loyalsim.record"
REQUIRED = ("format", "key", "replication", "months", "metrics", "cost_lines", "income_lines", "revenue_lines",
            "mechanics", "members")
SERIES = ("month", "profit", "revenue")  # the monthly series every lift and curve reads


class ResultStore:
    """A folder of records. ``get`` returns None for anything missing or unreadable."""

    def __init__(self, root):
        self.root = Path(root)
        writable_folder(self.root, "--store")  # refused before any work, not at the first record
        writable_folder(self.root / "records", "--store")
        self.rejected: list[Path] = []  # files found unreadable (recomputed)

    def __repr__(self):
        return f"ResultStore({str(self.root)!r})"

    def path(self, key: str) -> Path:
        return self.root / "records" / key[:2] / f"{key}.parquet"

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def get(self, key: str) -> Record | None:
        path = self.path(key)
        if not path.exists():
            return None
        try:
            import pyarrow.parquet as pq
            table = pq.read_table(path)
            meta = json.loads(table.schema.metadata[META_KEY])
            if not isinstance(meta, dict) or any(k not in meta for k in REQUIRED):
                raise ValueError("missing fields")
            if meta["format"] != RECORD_FORMAT or meta["key"] != key:
                raise ValueError("another record")
            if not isinstance(meta["metrics"], dict) or not meta["metrics"]:
                raise ValueError("no metrics")
            # the shape the results read: every headline metric a number (or None where undefined),
            # the monthly series the lifts are built from, one row a month
            if not isinstance(meta["replication"], int) or any(
                    m not in meta["metrics"] or not (meta["metrics"][m] is None or
                                                     isinstance(meta["metrics"][m], (int, float)))
                    for m in HEADLINE):
                raise ValueError("headline metrics missing or not numbers")
            if any(c not in table.column_names for c in SERIES) or table.num_rows == 0 \
                    or table.num_rows != meta.get("months"):
                raise ValueError("monthly series missing or of another length")
            series = {name: (table.column(name).to_pylist() if name == "calendar_month"
                             else table.column(name).to_numpy().astype(np.float64))
                      for name in table.column_names}
            return Record.from_meta(meta, series)
        except Exception:  # noqa: BLE001 - any unreadable file is recomputed, never trusted
            self.rejected.append(path)
            return None

    def put(self, record: Record):
        import pyarrow as pa
        import pyarrow.parquet as pq
        path = self.path(record.key)
        table = pa.table({name: pa.array(values) for name, values in record.series.items()})
        meta = dict(table.schema.metadata or {})
        meta[META_KEY] = json.dumps(record.meta()).encode()
        table = table.replace_schema_metadata(meta)
        what = f"the result store {self.root}"
        hint = ("the records written before are kept there: free space or make it writable, then run the same "
                "command again to resume")

        def write(tmp):
            tmp.parent.mkdir(exist_ok=True)
            pq.write_table(table, tmp)
        write_atomic(path, write, what, hint)

    def keys(self):
        return sorted(p.stem for p in (self.root / "records").glob("*/*.parquet"))
