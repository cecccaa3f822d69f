"""`tracemark tiles`: the log as C2SP tlog-tiles static files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger import CheckpointError, open_ledger
from tracemark.cli.common import DbOption, HomeOption, console, err, progress_bar, reported, settings_from

__all__ = ["register"]


def export(
    folder: Annotated[Path, typer.Argument(help="folder to write the checkpoint and tile/ tree into (made if missing)", file_okay=False)],
    entries: Annotated[bool, typer.Option("--entries", help="also write entry bundles: they hold event bodies, so serve the folder only to those who may read them")] = False,
    full: Annotated[bool, typer.Option("--full", help="write every tile again, not only what changed since the export already in the folder")] = False,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Write the log's checkpoint and hash tiles as static files, only what changed since the last export."""
    from ledger import export_tiles

    ledger = open_ledger(settings_from(db, home))
    with progress_bar("exporting tiles") as progress:
        done = export_tiles(ledger, folder, entries=entries, full=full, progress=progress)
    bundles = f", {done.bundles} entry bundles" if entries else ""
    console.print(f"exported {done.size} entries to {folder} (since {done.since}): "
                  f"{done.full} full and {done.partial} partial tiles{bundles}, and the checkpoint")


def check(
    url: Annotated[str, typer.Argument(help="the log's tlog-tiles prefix, e.g. http://127.0.0.1:8000/log/")],
    vkey: Annotated[Optional[str], typer.Option("--vkey", help="the log's verifier key (default: <home>/log.pub)")] = None,
    since: Annotated[Optional[Path], typer.Option("--since", help="a checkpoint of this log seen earlier: prove the log only grew since", dir_okay=False)] = None,
    save: Annotated[Optional[Path], typer.Option("--save", help="write the checked checkpoint here (for the next --since)", dir_okay=False)] = None,
    home: HomeOption = None,
) -> None:
    """Check a log over HTTP as any tlog-tiles client would: the checkpoint's signature, its root rebuilt from the tiles."""
    from ledger import TileCheckError, check_tiles

    key = vkey or settings_from(None, home).verifier_key()
    earlier = since.read_text(encoding="utf-8") if since is not None else None
    try:
        done = check_tiles(url, key, earlier=earlier)
    except (TileCheckError, CheckpointError) as exc:
        err.print(f"[bold red]FAILED[/] {exc}")
        raise typer.Exit(1) from exc
    if save is not None:
        save.write_text(done.note, encoding="utf-8")
    grown = "" if done.extends is None else f"; it extends the earlier checkpoint of {done.extends} entries"
    console.print(f"[green]OK[/] {done.checkpoint.origin}: {done.checkpoint.size} entries, root {done.checkpoint.root.hex()} "
                  f"signed by the log and rebuilt from {done.tiles} tiles{grown}")


def register(app: typer.Typer) -> None:
    """Add `tiles export` and `tiles check` to the `tracemark` app."""
    tiles = typer.Typer(help="the log as C2SP tlog-tiles", no_args_is_help=True)
    tiles.command("export")(reported(export))
    tiles.command("check")(reported(check))
    app.add_typer(tiles, name="tiles")
