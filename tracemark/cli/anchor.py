"""`tracemark anchor deploy|run|status|add-submitter|remove-submitter|forget` and the chain half of `tracemark verify --chain`.

Configuration comes from the environment: TRACEMARK_RPC_URL (no URL: anchoring is off and
every other command works as before), TRACEMARK_ANCHOR_ADDRESS, TRACEMARK_ANCHOR_KEYSTORE and
TRACEMARK_ANCHOR_PASSPHRASE. web3 is imported inside the command bodies only.
"""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ledger import AnchorWorker, CheckpointRow, Ledger, Schedule, anchor_status, open_ledger
from tracemark.cli.common import DbOption, HomeOption, console, err, fail, progress_bar, report_unsigned_times, reported, settings_from

if TYPE_CHECKING:
    from ledger.anchoring.contract import AnchorClient

__all__ = ["register", "verify_chain_command"]

OFF = "anchoring is off: TRACEMARK_RPC_URL is not set"


def deploy() -> None:
    """Deploy LedgerAnchor from the keystore's account (owner and first submitter)."""
    from ledger.anchoring.contract import AnchorConfig, AnchorConfigError, load_account, open_web3
    from ledger.anchoring.contract import deploy as deploy_contract

    config = AnchorConfig.from_env()
    if config is None:
        raise fail(OFF)
    if config.keystore is None or config.passphrase is None:
        raise AnchorConfigError(f"{AnchorConfig.ENV_KEYSTORE} and {AnchorConfig.ENV_PASSPHRASE} must both be set")
    account = load_account(config.keystore, config.passphrase)
    w3 = open_web3(config.rpc_url)
    address = deploy_contract(w3, account)
    console.print(f"LedgerAnchor deployed at {address} by {account.address}")
    typer.echo(f"{AnchorConfig.ENV_ADDRESS}={address}")


def run(
    every_entries: Annotated[int, typer.Option("--every-entries", min=1, help="anchor once the log grew by N entries")] = 1000,
    every_seconds: Annotated[float, typer.Option("--every-seconds", min=0.001, help="... or T seconds after the last anchor")] = 600.0,
    once: Annotated[bool, typer.Option("--once", help="do one step (anchor if due, or finish an in-flight transaction) and exit")] = False,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Anchor the log's checkpoints on chain; retries with backoff, never blocks appends."""
    from ledger.anchoring.contract import AnchorClient, AnchorConfig, log_id_for

    config = AnchorConfig.from_env()
    if config is None:
        console.print(OFF)
        return
    settings = settings_from(db, home)
    ledger = open_ledger(settings)
    client = AnchorClient.connect(config)
    worker = AnchorWorker(ledger, client, log_id_for(ledger.origin), Schedule(every_entries, every_seconds))
    if once:
        outcome = worker.step()
        row = outcome.checkpoint
        where = "" if row is None else f" checkpoint #{row.id} (size {row.size})"
        receipt = outcome.receipt
        tx = "" if receipt is None else f" tx {receipt.tx_hash} block {receipt.block_number}"
        if outcome.action == "anchored" and receipt is not None and receipt.gas_used:
            tx += f" gas {receipt.gas_used}"
        console.print(f"{outcome.action}{where}{tx}")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: worker.stopped.set())
    console.print(f"anchoring {ledger.origin} to {client.address} every {every_entries} entries or {every_seconds:g} s")
    worker.run()


AddressArgument = Annotated[str, typer.Argument(help="the Ethereum account (0x...)")]


def add_submitter(address: AddressArgument, db: DbOption = None, home: HomeOption = None) -> None:
    """Let ADDRESS anchor this log. Sent by the contract owner (which binds a log not yet anchored) or one of the log's submitters."""
    origin, client = _log_manager(db, home)
    from ledger.anchoring.contract import log_id_for

    tx = client.add_log_submitter(log_id_for(origin), address)
    console.print(f"{address} may anchor {origin} (tx {tx})")


def remove_submitter(address: AddressArgument, db: DbOption = None, home: HomeOption = None) -> None:
    """Withdraw ADDRESS's right to anchor this log (the contract owner or one of the log's submitters)."""
    origin, client = _log_manager(db, home)
    from ledger.anchoring.contract import log_id_for

    tx = client.remove_log_submitter(log_id_for(origin), address)
    console.print(f"{address} may no longer anchor {origin} (tx {tx})")


def _log_manager(db: str | None, home: Path | None) -> tuple[str, AnchorClient]:
    """This log's origin and a client sending from the configured keystore."""
    from ledger.anchoring.contract import AnchorClient, AnchorConfig

    config = AnchorConfig.from_env()
    if config is None:
        raise fail(OFF)
    return settings_from(db, home).origin, AnchorClient.connect(config)


def forget(db: DbOption = None, home: HomeOption = None) -> None:
    """After moving to a newly deployed LedgerAnchor: forget where checkpoints were anchored before.

    The old contract keeps its anchors; the next `anchor run` anchors the latest checkpoint on
    the configured contract. Refused while that contract holds anchors of this log, whose records are still true.
    """
    from ledger.anchoring.contract import AnchorClient, AnchorConfig, log_id_for

    config = AnchorConfig.from_env()
    if config is None:
        raise fail(OFF)
    ledger = open_ledger(settings_from(db, home))
    client = AnchorClient.connect(config, read_only=True)
    held = client.count(log_id_for(ledger.origin))
    if held:
        raise fail(f"{client.address} holds {held} anchors of {ledger.origin}: its records are kept", code=2)
    forgotten = ledger.forget_anchors()
    console.print(f"forgot the anchor records of {forgotten} checkpoints; `tracemark anchor run` anchors on {client.address}")


def status(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of lines")] = False,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Show the log's last anchored checkpoint, any transaction in flight, and the chain's view."""
    from ledger import current_submitters
    from ledger.anchoring.contract import AnchorClient, AnchorConfig, log_id_for

    ledger = open_ledger(settings_from(db, home))
    state = anchor_status(ledger)
    found: dict[str, object] = {"origin": ledger.origin, "size": state.size, "latest_checkpoint": _checkpoint(state.latest),
                                "last_anchored": _checkpoint(state.last_anchored), "in_flight": _checkpoint(state.pending)}
    anchored = state.last_anchored.size if state.last_anchored is not None else 0
    found["not_anchored"] = state.size - anchored
    config = AnchorConfig.from_env()
    found["chain"] = None
    if config is not None:
        client = AnchorClient.connect(config, read_only=True)
        log_id = log_id_for(ledger.origin)
        latest = client.latest(log_id)
        found["chain"] = {"contract": client.address, "chain_id": client.chain_id, "anchors": 0 if latest is None else latest.index + 1,
                          "latest_size": None if latest is None else latest.size,
                          "latest_time": None if latest is None else latest.timestamp.isoformat(),
                          "submitters": current_submitters(client.submitter_changes(log_id))}
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    _print_status(found)


def _checkpoint(row: CheckpointRow | None) -> dict[str, object] | None:
    """A checkpoint's place on the chain, for `anchor status`."""
    if row is None:
        return None
    return {"id": row.id, "size": row.size, "tx": row.anchor_tx, "block": row.anchor_block, "block_time": row.anchor_time,
            "chain_id": row.anchor_chain_id, "index": row.anchor_index}


def _print_status(found: dict[str, Any]) -> None:
    """`anchor status` as lines short enough for an 80-column terminal (a transaction hash on a line of its own)."""
    console.print(f"[bold]anchoring of {found['origin']}[/]: {found['size']} entries, {found['not_anchored']} entries not yet anchored")
    for key, label in (("latest_checkpoint", "latest checkpoint"), ("last_anchored", "last anchored"), ("in_flight", "in flight")):
        row = found[key]
        if row is None:
            continue
        where = "" if row["block"] is None else f", block {row['block']} at {row['block_time']} on chain {row['chain_id']} (anchor {row['index']})"
        console.print(f"{label}: checkpoint #{row['id']} of size {row['size']}{where}")
        if row["tx"]:
            console.print(f"  tx {row['tx']}")
    chain = found["chain"]
    if chain is None:
        console.print(OFF)
        return
    console.print(f"contract {chain['contract']} on chain {chain['chain_id']}: "
                  + ("no anchor of this log" if not chain["anchors"] else
                     f"{chain['anchors']} anchors, latest size {chain['latest_size']} at {chain['latest_time']}"))
    console.print(f"submitters of this log: {', '.join(chain['submitters'])}" if chain["submitters"] else
                  "no submitter of this log yet: its first anchor binds it to the account that sends it")


def verify_chain_command(ledger: Ledger, verifier_key: str) -> None:
    """`tracemark verify --chain`: the plain audit plus every anchor of this log; exit 1 on a finding."""
    from ledger import verify_chain
    from ledger.anchoring.contract import AnchorClient, AnchorConfig, log_id_for

    config = AnchorConfig.from_env()
    if config is None:
        raise fail(OFF, code=2)
    client = AnchorClient.connect(config, read_only=True)
    log_id = log_id_for(ledger.origin)
    anchors, changes = client.anchors(log_id), client.submitter_changes(log_id)
    with progress_bar("verifying") as progress, ledger.reading() as session:
        result = verify_chain(ledger, session, verifier_key, anchors, progress,
                              chain_id=client.chain_id, changes=changes)
    report_unsigned_times(result.log)
    for foreign in result.foreign:
        err.print(f"[yellow]IGNORED[/] anchor #{foreign.index} (size {foreign.size}, tx {foreign.tx_hash}, "
                  f"block {foreign.block_number}) sent by {foreign.submitter}, not a submitter of this log")
    if result.ok:
        console.print(f"[green]OK[/] {result.log.size} entries, {result.log.checkpoints} checkpoints, "
                      f"{len(result.anchors)} anchors by this log's submitters on {client.address}: "
                      "every hash, proof, signature and anchored root holds")
        return
    if not result.log.ok:
        first = result.log.first
        assert first is not None
        err.print(f"[bold red]FAILED[/] log audit: first bad sequence number {first.seq}: {first.what}")
        for finding in sorted(result.log.findings, key=lambda f: f.seq)[:50]:
            err.print(f"  {finding}")
    if result.findings:
        err.print(f"[bold red]FAILED[/] the chain disagrees with the log; first exposed by {result.first}")
        for chain_finding in result.findings[:50]:
            err.print(f"  {chain_finding}")
    if result.records:
        err.print(f"[bold red]FAILED[/] the log's anchor records disagree with the chain; first at sequence number {result.records[0].seq}")
        for record in result.records[:50]:
            err.print(f"  {record}")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `tracemark anchor ...` to the app."""
    anchor = typer.Typer(help="anchor checkpoints on an Ethereum chain", no_args_is_help=True)
    for command in (deploy, run, status, add_submitter, remove_submitter, forget):
        anchor.command()(reported(command))
    app.add_typer(anchor, name="anchor")

