"""`tracemark peers add|list|remove`: the other national logs this log talks to.

Peering is an event of this log (`add_peer`, `remove_peer`) signed by an admin's key, so these
commands sign with a keystore (`--key`, or `--as PARTY` for `<home>/keys/PARTY.json`, where
`tracemark demo` keeps the demo's) and append to the log directly, as `tracemark witnesses` does.
The first `peers add` also opens the log's federation desk (`ledger.open_desk`), signed by the same admin.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from tracemark.cli.common import AsOption, DbOption, HomeOption, KeyOption, PassphraseOption, console, reported, settings_from, signer

if TYPE_CHECKING:
    from ledger import Ledger, LocalAccount

__all__ = ["register"]

def _append(ledger: Ledger, account: LocalAccount, event: dict[str, Any]) -> int:
    from ledger import format_time, sign_event

    event = {"actor": ledger.key_owner(account.address), "time": format_time(ledger.clock()), **event}
    return ledger.append(sign_event(account, event, origin=ledger.origin)).seq


def add(
    name: Annotated[str, typer.Argument(help="this log's name for the peer (lower-case letters, digits, . _ -)")],
    origin: Annotated[str, typer.Option("--origin", help="the peer log's origin")],
    vkey: Annotated[str, typer.Option("--vkey", help="the peer log's verifier key, as `tracemark init` prints it there")],
    url: Annotated[str, typer.Option("--url", help="the peer's base URL, e.g. https://tracemark.example.de")],
    country: Annotated[str, typer.Option("--country", help="the peer's country, ISO 3166-1 alpha-2")],
    share: Annotated[str, typer.Option("--share", help="what to share beyond status and proof: facts, holder_country (comma-separated)")] = "",
    key: KeyOption = None,
    party: AsOption = None,
    passphrase: PassphraseOption = None,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Peer with another log, or describe a peer anew under the same NAME (its key, URL or what is shared)."""
    from ledger import open_desk, open_ledger

    settings = settings_from(db, home)
    account = signer(settings, key, party, passphrase)
    shared = [part.strip() for part in share.split(",") if part.strip()]
    peer = {"name": name, "origin": origin, "vkey": vkey, "url": url, "country": country, "share": shared}
    ledger = open_ledger(settings)
    seq = _append(ledger, account, {"type": "add_peer", "peer": peer})
    if open_desk(ledger, settings, account):
        console.print("opened the federation desk: a party whose server-held key records what peers send")
    console.print(f"peer {name}: {origin} at {url} ({country}), shares {', '.join(shared) or 'status and proof only'} (entry {seq})")


def list_peers(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """The current peers."""
    from ledger import list_peers as current
    from ledger import open_ledger

    peers = current(open_ledger(settings_from(db, home)))
    if as_json:
        typer.echo(json.dumps([{"name": p.name, "origin": p.origin, "vkey": p.vkey, "key_id": p.key_id, "url": p.url,
                                "country": p.country, "share": list(p.share), "added_seq": p.added_seq} for p in peers], indent=2))
        return
    table = Table("name", "origin", "key ID", "url", "country", "shares", "entry")
    for p in peers:
        table.add_row(p.name, p.origin, p.key_id, p.url, p.country, ", ".join(p.share), str(p.added_seq))
    console.print(table)


def remove(
    name: Annotated[str, typer.Argument(help="the peer's name")],
    reason: Annotated[str, typer.Option("--reason", help="why the peering ends (signed into the log)")] = "removed by the operator",
    key: KeyOption = None,
    party: AsOption = None,
    passphrase: PassphraseOption = None,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """End the peering: the peer's signed requests are refused from now on."""
    from ledger import open_ledger

    settings = settings_from(db, home)
    account = signer(settings, key, party, passphrase)
    seq = _append(open_ledger(settings), account, {"type": "remove_peer", "name": name, "reason": reason})
    console.print(f"peer {name} removed (entry {seq})")


def register(app: typer.Typer) -> None:
    """Add `peers` to the `tracemark` app."""
    peers = typer.Typer(help="the other national logs this log talks to", no_args_is_help=True)
    peers.command("add")(reported(add))
    peers.command("list")(reported(list_peers))
    peers.command("remove")(reported(remove))
    app.add_typer(peers, name="peers")
