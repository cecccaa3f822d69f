"""`tracemark network up|reset`: two national logs and a witness on this machine (`make run-network`)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from tracemark.cli.common import console, reported

if TYPE_CHECKING:
    from tracemark.network import Network

__all__ = ["register"]

FolderOption = Annotated[Path, typer.Option("--dir", help="where the network keeps its keys, SQLite files and server logs", file_okay=False)]


def up(
    folder: FolderOption = Path(".network"),
    de_db: Annotated[Optional[str], typer.Option("--de-db", help="the German log's PostgreSQL database, created if missing "
                                                 "(default postgresql://postgres@127.0.0.1:5432/tracemark_de)")] = None,
    ports: Annotated[str, typer.Option("--ports", help="ports on 127.0.0.1 of the German log, the Kenyan log and the witness")] = "8101,8102,8103",
    items: Annotated[int, typer.Option("--items", min=0, max=100_000, help="extra German firearms in the demo data")] = 20,
) -> None:
    """Start a German firearms registry (PostgreSQL), a Kenyan wildlife and customs authority (SQLite)
    and a witness, each its own `tracemark serve`, peered, with a demo story; Ctrl-C stops all three.

    The first run sets them up in --dir (--de-db, --ports and --items apply then); later runs reuse
    it. `tracemark network reset` deletes it."""
    from tracemark.network import DEFAULT_DE_DB, prepare, running

    chosen = _ports(ports)
    console.print(f"setting up or reusing the network in {folder} ...")
    network = prepare(folder, de_db or DEFAULT_DE_DB, chosen, items)
    for stopping in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C (even where a shell ignored it for us) or a supervisor: the servers go too
        signal.signal(stopping, _interrupt)
    try:
        with running(network) as processes:
            _print_guide(network, {name: process.pid for name, process in processes.items()})
            while all(process.poll() is None for process in processes.values()):
                time.sleep(0.5)
            gone = next(name for name, process in processes.items() if process.poll() is not None)
            node = next(node for node in network.nodes if node.name == gone)
            console.print(f"[bold red]the {node.title} stopped (see {node.serve_log}); stopping the others[/]")
            raise typer.Exit(1)
    except KeyboardInterrupt:
        console.print("stopped the two logs and the witness")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _ports(text: str) -> tuple[int, int, int]:
    try:
        de, ke, witness = (int(part) for part in text.split(","))
    except ValueError:
        de = ke = witness = 0
    if not all(0 < port < 65536 for port in (de, ke, witness)) or len({de, ke, witness}) != 3:
        raise typer.BadParameter(f"three different ports, e.g. 8101,8102,8103; got {text!r}", param_hint="--ports")
    return de, ke, witness


def _print_guide(network: Network, pids: dict[str, int]) -> None:
    """Where to look and what to try, printed when all three answer (plain lines: a test reads them too)."""
    de, ke, witness = network.de, network.ke, network.witness
    pistol, skin = network.items["de"]["stolen_pistol"], network.items["ke"]["specimen_exported"]
    lines = [
        f"A network of logs on 127.0.0.1 (kept in {network.folder}; `make reset-network` starts afresh):",
        f"  DE log   {de.url}  camera page {de.url}/scan  {de.title}, {de.origin} on PostgreSQL (pid {pids['de']})",
        f"  KE log   {ke.url}  camera page {ke.url}/scan  {ke.title}, {ke.origin} on SQLite (pid {pids['ke']})",
        f"  witness  {witness.url}/witness  cosigns both logs' checkpoints (pid {pids['witness']})",
        "  peers:   DE shares item facts with KE; KE shares item facts and the holder's country with DE",
        "API keys for the camera pages:",
        f"  KE customs officer (ke-customs, on the KE log): {ke.api_key('ke-customs')}",
        f"  DE customs officer (de-customs, on the DE log): {de.api_key('de-customs')}",
        f"API keys for the investigators' pages: KE (ke-dci) {ke.api_key('ke-dci')}, DE (de-bka) {de.api_key('de-bka')}",
        "Labels (version 3 codes, each naming the log that issued it):",
        f"  DE: {de.labels}",
        f"  KE: {ke.labels}",
        "Try:",
        f"  1. At the Kenyan border: open {ke.url}/scan, sign in with the KE customs key and scan the Walther pistol",
        f"     'stolen from a German dealer' (item {pistol}) from the DE labels: a German code, asked of the DE log.",
        f"  2. In Germany: open {de.url}/scan, sign in with the DE customs key and scan a crocodile skin",
        f"     'skin exported to Germany, in transit' (item {skin}) from the KE labels: a Kenyan code, asked of the KE log.",
        f"  3. Between investigators: at {ke.url}/investigations/trace-requests, signed in with the KE investigator key, ask DE",
        f"     for the pistol's custody chain; at {de.url}/investigations/trace-requests, with the DE key, grant or refuse it.",
        f"Server logs: {network.folder}/<de|ke|witness>/serve.log. Ctrl-C stops all three.",
    ]
    for line in lines:
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    console.file.flush()


def reset(folder: FolderOption = Path(".network")) -> None:
    """Delete the network kept in --dir and drop the German log's PostgreSQL database."""
    from tracemark.network import reset as remove

    removed = remove(folder)
    console.print(f"removed {', '.join(removed)}" if removed else f"no network in {folder}")


def register(app: typer.Typer) -> None:
    """Add `network` to the `tracemark` app."""
    network = typer.Typer(help="two national logs and a witness on this machine, peered, with a demo story", no_args_is_help=True)
    network.command("up")(reported(up))
    network.command("reset")(reported(reset))
    app.add_typer(network, name="network")
