"""Errors a user can cause. The CLI turns them into one clear line and exit code 2."""


class UserError(Exception):
    """A problem with the user's input: a scenario, a data file, a command-line value.

    The message must name the file, the field and what is allowed.
    """

    exit_code = 2


def printable(text: str) -> str:
    """``text`` with line breaks and other control characters written as escapes (``\\r``, ``\\x00``), so
    a message naming an odd key or value stays one line."""
    text = str(text)
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def whole_option(value, option, lo, hi) -> int:
    """A command-line count (draws, samples, a budget): a whole number from lo to hi, or one line."""
    if isinstance(value, bool) or not hasattr(value, "__index__") or not lo <= value <= hi:
        raise UserError(f"{option}: got {value!r}; allowed: a whole number from {lo:,} to {hi:,}")
    return int(value)


class ScenarioError(UserError):
    """A scenario file that does not validate."""

    def __init__(self, file, field, problem):
        self.file = str(file) if file is not None else "<scenario>"
        self.field = field
        self.problem = problem
        where = f"{self.file}: {printable(field)}" if field else self.file
        super().__init__(f"{where}: {problem}")


class DataError(UserError):
    """A missing or malformed data file (transaction log, KPI targets)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM during a run: finished work is kept, the rest is stopped."""

    def __init__(self, signum=2):
        super().__init__()
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
