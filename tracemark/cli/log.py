"""The ledger's commands: init, keys, demo, import, verify, checkpoint, rebuild, erase."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ledger import LedgerError, init_log, open_ledger
from tracemark.cli.anchor import verify_chain_command
from tracemark.cli.common import DbOption, HomeOption, PolicyOption, console, err, fail, progress_bar, report_unsigned_times, reported, settings_from

if TYPE_CHECKING:
    pass

__all__ = ["register"]

def init(db: DbOption = None, home: HomeOption = None) -> None:
    """Create the log's Ed25519 key (once) and the database schema."""
    settings = settings_from(db, home)
    ledger = init_log(settings)
    console.print(f"log [bold]{settings.origin}[/] on {settings.db_url} ({ledger.size()} entries)")
    console.print(f"verifier key: {settings.verifier_key()}  ({settings.verifier_key_path})")
    if ledger.log_cosigner is not None:
        console.print(f"timestamp cosigner key: {ledger.log_cosigner.vkey}")


def keys_new(
    out: Annotated[Path, typer.Option("--out", help="keystore file to write")],
    passphrase: Annotated[Optional[str], typer.Option("--passphrase", envvar="TRACEMARK_KEY_PASSPHRASE", help="keystore passphrase")] = None,
) -> None:
    """Make a new secp256k1 party key, saved as a Web3 Secret Storage keystore."""
    from ledger import new_account, save_keystore

    if out.exists():
        raise fail(f"{out} exists; refusing to overwrite a key")
    if passphrase is None:
        passphrase = typer.prompt("passphrase", hide_input=True, confirmation_prompt=True)
    account = new_account()
    save_keystore(account, out, passphrase)
    console.print(f"address {account.address}  keystore {out}")


def demo(
    items: Annotated[int, typer.Option("--items", min=0, max=1_000_000, help="extra firearms to mark and ship")] = 20,
    cast: Annotated[str, typer.Option("--cast", help="world: every country on one log; de, ke: one national log of `make run-network`")] = "world",
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Fill an empty log with a realistic demo data set and write the demo parties' keys."""
    from ledger import CASTS, DEMO_PASSPHRASE, run_demo

    if cast not in CASTS:
        raise typer.BadParameter(f"{cast!r} is not one of {', '.join(CASTS)}", param_hint="--cast")
    settings = settings_from(db, home)
    ledger = init_log(settings)
    if ledger.size():
        raise fail(f"the log on {settings.db_url} already has {ledger.size()} entries; the demo needs an empty one")
    with progress_bar("importing demo events") as progress:
        result = run_demo(ledger, keys_dir=settings.keys_dir, items=items, progress=progress, cast=cast)
    checkpoint = ledger.checkpoint()
    console.print(f"{result.events} signed events imported; checkpoint at size {checkpoint.size}")
    console.print(f"{len(result.parties)} parties, keystores in {settings.keys_dir} (passphrase {DEMO_PASSPHRASE!r}); "
                  "`tracemark serve` lists them with their API keys")
    for story, uid in result.items.items():
        console.print(f"  {story:<20} {uid}")


def import_(
    file: Annotated[Path, typer.Argument(help="JSON Lines file: one signed envelope {event, signer, signature} a line, oldest first",
                                         exists=True, dir_okay=False, readable=True)],
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Import an earlier registry's signed history: events of any past time, each entry marked imported.

    Only the log's authority imports (it needs the log key). The whole file is one transaction:
    a refused event names its line and nothing of the file is kept.
    """
    lines = _envelope_lines(file)
    ledger = open_ledger(settings_from(db, home))
    try:
        receipts = ledger.import_batch([envelope for _, envelope in lines])
    except LedgerError as exc:
        where = "" if exc.index is None else f"line {lines[exc.index][0]}: "
        raise fail(f"{where}{type(exc).__name__}: {exc}; nothing was imported", code=2) from exc
    fresh = sum(not receipt.duplicate for receipt in receipts)
    console.print(f"imported {fresh} entries ({len(receipts) - fresh} already in the log); log size {ledger.size()}")


def _envelope_lines(file: Path) -> list[tuple[int, dict]]:
    """Each non-blank line of `file` as (line number, JSON object)."""
    from ledger import json_object

    lines = []
    for number, line in enumerate(file.read_bytes().splitlines(), start=1):
        if line.strip():
            try:
                lines.append((number, json_object(line)))
            except LedgerError as exc:
                raise fail(f"line {number}: {exc}; nothing was imported", code=2) from exc
    return lines


def verify(
    db: DbOption = None,
    home: HomeOption = None,
    vkey: Annotated[Optional[str], typer.Option("--vkey", help="the log's verifier key (default: <home>/log.pub)")] = None,
    chain: Annotated[bool, typer.Option("--chain", help="also check every checkpoint anchored on chain ($TRACEMARK_RPC_URL, $TRACEMARK_ANCHOR_ADDRESS)")] = False,
    policy: PolicyOption = None,
) -> None:
    """Audit the whole log: leaf hashes, hash chain, Merkle nodes and roots, all signatures.

    With --policy, also which of the policy's witnesses cosigned which checkpoints, from the
    cosignatures stored: one that no longer verifies means that witness saw another history."""
    from ledger import audit

    settings = settings_from(db, home)
    ledger = open_ledger(settings)
    if chain:
        verify_chain_command(ledger, vkey or settings.verifier_key())
        return
    with progress_bar("verifying") as progress, ledger.reading() as session:
        report = audit(session, vkey or settings.verifier_key(), settings.origin, progress, window=settings.reporting_window)
    report_unsigned_times(report)
    witnessed = True
    if policy is not None:
        from tracemark.cli.policy import read_policy, report_witnesses

        witnessed = report_witnesses(ledger, read_policy(policy), vkey or settings.verifier_key())
    if report.ok:
        console.print(f"[green]OK[/] {report.size} entries, {report.checkpoints} checkpoints: every hash, proof and signature holds")
        if not witnessed:
            raise typer.Exit(1)
        return
    first = report.first
    assert first is not None
    err.print(f"[bold red]FAILED[/] first bad sequence number {first.seq}: {first.what}")
    for finding in sorted(report.findings, key=lambda f: f.seq)[:50]:
        err.print(f"  {finding}")
    raise typer.Exit(1)


def checkpoint(db: DbOption = None, home: HomeOption = None) -> None:
    """Sign a checkpoint of the log as it is now and print the signed note, with the witnesses' cosignatures."""
    from ledger import cosigned_note

    ledger = open_ledger(settings_from(db, home))
    row = ledger.checkpoint()
    typer.echo(cosigned_note(ledger, row), nl=False)


def rebuild(db: DbOption = None, home: HomeOption = None) -> None:
    """Recompute the current state (parties, keys, items, permits) from the log's entries."""
    from ledger import rebuild as replay

    ledger = open_ledger(settings_from(db, home))
    with progress_bar("replaying") as progress:
        count = replay(ledger, progress)
    console.print(f"rebuilt the current state from {count} entries")


def erase(
    commitment: Annotated[str, typer.Argument(help="the owner commitment (hex) whose clear data to erase")],
    reason: Annotated[str, typer.Option("--reason", help="court order or retention rule")],
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Erase a private owner's name and address; the log's hashes and proofs stay valid."""
    ledger = open_ledger(settings_from(db, home))
    ledger.erase_personal(commitment, reason)
    console.print(f"erased the personal data behind {commitment}")


def register(app: typer.Typer) -> None:
    """Add the ledger's commands to the `tracemark` app."""
    for command in (init, demo, verify, checkpoint, rebuild, erase):
        app.command()(reported(command))
    app.command("import")(reported(import_))
    keys = typer.Typer(help="party keys", no_args_is_help=True)
    keys.command("new")(reported(keys_new))
    app.add_typer(keys, name="keys")
