"""Writing files whole or not at all, and a write the machine refuses told as the user's to fix.

Every file loyalsim writes (the result store's records, what ``--out DIR`` holds, an ``--html``
report) goes through :func:`write_atomic`: the bytes go to a temporary file in the same folder,
are flushed to the disk (fsync), and only then take the file's name (``os.replace``, atomic on
one file system), and the folder's entry is flushed too. A full disk, a kill or a power cut
leaves the old file or the new one, never half of one; the temporary file is removed.

A write the machine refuses (no space, no permission, a read-only file system, a file where a
folder should be) raises :class:`WriteError`: a :class:`sim.errors.UserError`, so the command
prints one line naming the folder or file and the cause, and exits with code 2.
"""
from __future__ import annotations

import errno
import os
import re
import uuid
from pathlib import Path

from sim.errors import UserError

# the causes a user can fix, in their words
CAUSES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file is larger than the file system allows",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "it exists and is not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ENOENT: "no such file or folder",
    errno.EIO: "input/output error on the device",
}


# what the machine refuses a write for, whatever the file (a missing file is a reader's business)
REFUSED = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO,
                     errno.EISDIR, errno.ENOTDIR))


class WriteError(UserError):
    """A file or folder the machine refuses to write: the user's to fix (free space, a writable folder)."""


def errno_of(e: OSError) -> int | None:
    """The error number, also when a library (pyarrow) puts it only in its message."""
    if e.errno is not None:
        return e.errno
    m = re.search(r"\[errno (\d+)\]", str(e), flags=re.IGNORECASE)
    return int(m.group(1)) if m else None


def cause(e: OSError) -> str:
    code = errno_of(e)
    if code in CAUSES:
        return CAUSES[code]
    return e.strerror or (os.strerror(code) if code else str(e).splitlines()[0] if str(e) else type(e).__name__)


def is_environment(e: BaseException) -> bool:
    """An OSError that is the machine's (space, permission, read-only, a file in the way), not a bug."""
    return isinstance(e, OSError) and errno_of(e) in CAUSES


def write_error(what: str, e: OSError, hint: str = "") -> WriteError:
    """One line: what could not be written, why, and what to do."""
    return WriteError(f"{what}: cannot write ({cause(e)}){'; ' + hint if hint else ''}")


def fsync_folder(folder: Path):
    """Flush a folder's entries (a rename is durable only once its folder is); best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path, write, what=None, hint="") -> Path:
    """Write ``path`` whole or not at all: ``write(tmp)`` writes the bytes to a temporary file in the
    same folder, which is flushed and renamed over ``path``. A refused write raises WriteError
    naming ``what`` (default: the path)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_folder(path.parent)
    except OSError as e:
        if not is_environment(e):
            raise
        raise write_error(what or str(path), e, hint) from None
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        except OSError:  # pragma: no cover - the folder went read-only meanwhile: nothing more to do
            pass
    return path


def write_text(path, text: str, what=None, hint="") -> Path:
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), what, hint)


def writable_folder(folder, what: str):
    """Create ``folder`` (and its parents) and prove it takes a file, before any long work: a folder
    that cannot be written is refused at once, not after the simulation (root ignores permissions,
    so asking os.access is not enough: a small file is written and removed)."""
    folder = Path(folder)
    try:
        if folder.exists() and not folder.is_dir():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(folder))
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".loyalsim-probe.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as e:
        if not is_environment(e):
            raise
        raise WriteError(f"{what} {folder}: cannot write there ({cause(e)}); allowed: a folder this user "
                         "can write") from None
