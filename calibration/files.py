"""Small YAML inputs of calibration (KPI targets, lift evidence): read safely, fail clearly."""
from __future__ import annotations

from pathlib import Path

import yaml

from sim.errors import DataError


def read_yaml(path: Path):
    """The parsed YAML of a file, or a DataError naming the file and what went wrong."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    except yaml.YAMLError as e:
        raise DataError(f"{path}: not valid YAML ({getattr(e, 'problem', e)})") from None
