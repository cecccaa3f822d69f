"""What every command group shares: the consoles, the --db and --home options, and `reported`,
the one place where the project's errors become a message and an exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.errors import ApiError
from ledger import LedgerError, Settings
from scanner.errors import ScannerError

if TYPE_CHECKING:
    from ledger import AuditReport, LocalAccount

__all__ = ["console", "err", "DbOption", "HomeOption", "PolicyOption", "settings_from", "fail", "progress_bar", "reported", "report_unsigned_times", "describe", "REFUSED",
           "KeyOption", "AsOption", "PassphraseOption", "signer"]

REFUSED = 2
"""The exit code of a command that refused its input or found the log not as it should be."""

REPORTED: tuple[type[Exception], ...] = (LedgerError, ScannerError, ApiError, FileExistsError)
"""The errors that say what is wrong in words a user can act on: shown as they are, without a traceback."""

console = Console()
err = Console(stderr=True)

DbOption = Annotated[Optional[str], typer.Option("--db", help="SQLAlchemy URL (default: $TRACEMARK_DB or sqlite:///tracemark.db)")]
HomeOption = Annotated[Optional[Path], typer.Option("--home", help="folder of the log key and party keys (default: $TRACEMARK_HOME or .tracemark)")]
PolicyOption = Annotated[
    Optional[Path],
    typer.Option("--policy", dir_okay=False,
                 help="verifier policy (C2SP tlog-policy): the logs and witnesses trusted, and the quorum of cosignatures required"),
]


def settings_from(db: str | None, home: Path | None) -> Settings:
    """The settings of one command: its options first, then the environment."""
    return Settings.from_env(db_url=db, home=home)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` as an error on stderr and return the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr, handed out as a `progress(done, total)` callback."""
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def reported(command: Callable[..., None]) -> Callable[..., None]:
    """`command`, where one of the project's errors is one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except REPORTED as exc:
            raise fail(describe(exc), code=REFUSED) from exc

    return wrapper


def report_unsigned_times(report: AuditReport) -> None:
    """Say which checkpoints carry no signed time: their stored time is the database's word only."""
    ids = report.unsigned_times
    if ids:
        shown = ", ".join(f"#{i}" for i in ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        err.print(f"[yellow]NOTE[/] {len(ids)} checkpoints ({shown}) sign no time: "
                  "their created_at is unsigned and not to be relied on")


def describe(error: BaseException) -> str:
    """An error's own message (the type's name, after words, only when it has none)."""
    return str(error).strip() or f"failed without a message ({type(error).__name__})"


KeyOption = Annotated[Optional[Path], typer.Option("--key", envvar="TRACEMARK_ADMIN_KEY", dir_okay=False,
                                                   help="keystore of the admin who signs the event")]
AsOption = Annotated[Optional[str], typer.Option("--as", help="sign with <home>/keys/PARTY.json (the demo's admin is 'registry')")]
PassphraseOption = Annotated[Optional[str], typer.Option("--passphrase", envvar="TRACEMARK_KEY_PASSPHRASE", help="the keystore's passphrase")]


def signer(settings: Settings, key: Path | None, party: str | None, passphrase: str | None) -> LocalAccount:
    """The keystore that signs a command's event: `--key KEYSTORE`, or `--as PARTY` for `<home>/keys/PARTY.json`."""
    from ledger import load_keystore

    if (key is None) == (party is None):
        raise fail("sign with exactly one of --key KEYSTORE or --as PARTY")
    path = key if key is not None else settings.keys_dir / f"{party}.json"
    if not path.exists():
        raise fail(f"no keystore at {path}")
    if passphrase is None:
        passphrase = typer.prompt("keystore passphrase", hide_input=True)
    return load_keystore(path, passphrase)
