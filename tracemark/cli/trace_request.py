"""`tracemark trace-request send|list|grant|refuse|fetch`: trace requests between national logs.

Like `tracemark peers`, these sign with a keystore (`--key`, or `--as PARTY` for
`<home>/keys/PARTY.json`) and append to the log directly; `send` and `fetch` then talk to the peer
signed with the log key of `--home`, so they run where the server's home is.
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from tracemark.cli.common import AsOption, DbOption, HomeOption, KeyOption, PassphraseOption, console, reported, settings_from, signer

__all__ = ["register"]

SeqArgument = Annotated[int, typer.Argument(help="the request's entry in this log (see `trace-request list`)")]


def send(
    uid: Annotated[str, typer.Argument(help="the item's ULID in the peer's log")],
    peer: Annotated[str, typer.Option("--peer", help="this log's name for the peer asked")],
    reason: Annotated[str, typer.Option("--reason", help="why the trace is needed (signed into both logs)")],
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="ISO 8601 duration until the answer is due (default PT24H)")] = None,
    key: KeyOption = None,
    party: AsOption = None,
    passphrase: PassphraseOption = None,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Ask a peer log for the custody chain of one of its items."""
    from ledger import PeerClient, ask_peer, open_ledger, positive_duration, send_request

    settings = settings_from(db, home)
    account = signer(settings, key, party, passphrase)
    ledger = open_ledger(settings)
    seq = ask_peer(ledger, account, peer, uid, reason, None if deadline is None else positive_duration("--deadline", deadline))
    client = PeerClient.for_log(ledger.log_key, ledger.origin)
    try:
        arrival = send_request(ledger, client, seq)
    finally:
        client.close()
    console.print(f"trace request {seq} sent to {peer}: arrived there as entry {arrival}")


def list_requests(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Trace requests sent to and received from peers, with their state (open, overdue, answered, refused)."""
    from ledger import list_peer_traces, open_ledger

    found = list_peer_traces(open_ledger(settings_from(db, home)))
    if as_json:
        typer.echo(json.dumps([row.to_json() for row in found], indent=2))
        return
    table = Table("id", "side", "peer", "item", "state", "deadline", "requester", "reason")
    for row in found:
        table.add_row(str(row.seq), row.side, row.peer, row.item, row.state + (f": {row.refusal}" if row.refusal else ""), row.deadline,
                      row.requester, row.reason)
    console.print(table)


def grant(seq: SeqArgument, key: KeyOption = None, party: AsOption = None, passphrase: PassphraseOption = None,
          db: DbOption = None, home: HomeOption = None) -> None:
    """Grant a peer's request: its custody chain, as this log shares with that peer, is sent back (by the server)."""
    from ledger import decide, open_ledger

    settings = settings_from(db, home)
    account = signer(settings, key, party, passphrase)
    console.print(f"trace request {seq} granted (entry {decide(open_ledger(settings), account, seq, True)}); the server delivers it")


def refuse(seq: SeqArgument, reason: Annotated[str, typer.Option("--reason", help="why (sent to the peer, signed into the log)")],
           key: KeyOption = None, party: AsOption = None, passphrase: PassphraseOption = None,
           db: DbOption = None, home: HomeOption = None) -> None:
    """Refuse a peer's request, saying why."""
    from ledger import decide, open_ledger

    settings = settings_from(db, home)
    account = signer(settings, key, party, passphrase)
    console.print(f"trace request {seq} refused (entry {decide(open_ledger(settings), account, seq, False, reason)}); the server delivers it")


def fetch(seq: SeqArgument, db: DbOption = None, home: HomeOption = None) -> None:
    """Ask the peer for its answer to a request of this log (when its delivery did not come)."""
    from ledger import PeerClient, fetch_answer, open_ledger

    settings = settings_from(db, home)
    ledger = open_ledger(settings)
    client = PeerClient.for_log(ledger.log_key, ledger.origin)
    try:
        entry = fetch_answer(ledger, settings, client, seq)
    finally:
        client.close()
    console.print(f"trace request {seq}: " + ("not decided yet" if entry is None else f"answer verified and logged (entry {entry})"))


def register(app: typer.Typer) -> None:
    """Add `trace-request` to the `tracemark` app."""
    group = typer.Typer(help="trace requests between national logs", no_args_is_help=True)
    group.command("send")(reported(send))
    group.command("list")(reported(list_requests))
    group.command("grant")(reported(grant))
    group.command("refuse")(reported(refuse))
    group.command("fetch")(reported(fetch))
    app.add_typer(group, name="trace-request")
