"""The peer logs this log talks to, as its own `add_peer` / `remove_peer` events made them.

The `peer` table is a projection of those events (`tracemark log rebuild` recomputes it), so a
peer is never configured beside the log: peering, a change of a peer's key or address, and its
end are signed by an admin and proven like any other entry. These lookups are what a scanner (a
code names its log by key ID), the API (a signed request names its log by origin) and the CLI need.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy import select as select_columns
from sqlmodel import col, select

from ledger.errors import StoreError
from ledger.log.codec import canonical
from ledger.store.ledger import Ledger
from ledger.store.tables import PeerRow

__all__ = ["Peer", "list_peers", "peer_named", "peer_by_origin", "peer_by_key_id", "peers_note"]


@dataclass(frozen=True)
class Peer:
    """A current peer: its name here, its log's origin and note verifier key, its base URL, its
    country, what this log shares with it (`share`, a subset of `ledger.domain.events.SHARES`),
    and the entry that last described it."""

    name: str
    origin: str
    vkey: str
    url: str
    country: str
    share: tuple[str, ...]
    added_seq: int

    @property
    def key_id(self) -> str:
        """The 8 lower-case hex digits of the vkey's key hash: how a version 3 code names this log."""
        return self.vkey.split("+")[1]

    def shares(self, what: str) -> bool:
        return what in self.share


def _peer(row: PeerRow) -> Peer:
    return Peer(name=row.name, origin=row.origin, vkey=row.vkey, url=row.url, country=row.country,
                share=tuple(row.share.split(",")) if row.share else (), added_seq=row.added_seq)


def _current(ledger: Ledger, *where: object) -> list[Peer]:
    query = select(PeerRow).where(col(PeerRow.removed_seq).is_(None), *where).order_by(col(PeerRow.name))  # type: ignore[arg-type]
    with ledger.reading() as session:
        return [_peer(row) for row in session.exec(query)]


def list_peers(ledger: Ledger) -> list[Peer]:
    """Every current peer, by name."""
    return _current(ledger)


def peer_named(ledger: Ledger, name: str) -> Peer | None:
    found = _current(ledger, col(PeerRow.name) == name)
    return found[0] if found else None


def peer_by_origin(ledger: Ledger, origin: str) -> Peer | None:
    """The current peer whose log is `origin` (the rules keep origins apart), e.g. a signed request's keyid."""
    found = _current(ledger, col(PeerRow.origin) == origin)
    return found[0] if found else None


_BY_KEY_ID = select_columns(col(PeerRow.name), col(PeerRow.origin), col(PeerRow.vkey), col(PeerRow.url), col(PeerRow.country),
                            col(PeerRow.share), col(PeerRow.added_seq)).where(
    col(PeerRow.removed_seq).is_(None), col(PeerRow.key_id) == bindparam("key_id"))


def peer_by_key_id(ledger: Ledger, key_id_hex: str) -> Peer | None:
    """The current peer whose vkey has this key ID (8 hex digits, either case), e.g. from a version 3 code.

    Every cross-border scan asks it, so it reads straight through the driver (`Database.fetch_one`):
    through a session it was a tenth of such a scan's server time."""
    row = ledger.db.fetch_one(_BY_KEY_ID, {"key_id": key_id_hex.lower()})
    if row is None:
        return None
    name, origin, vkey, url, country, share, added_seq = row
    return Peer(name=name, origin=origin, vkey=vkey, url=url, country=country, share=tuple(share.split(",")) if share else (),
                added_seq=added_seq)


def peers_note(ledger: Ledger) -> str:
    """The current peers as a C2SP signed note of this log's key, for anyone holding its vkey to check:
    `<origin> peers`, then one RFC 8785 JSON line per peer (name, origin, vkey, url, country)."""
    if ledger.log_key is None:
        raise StoreError("this server does not hold the log key: it cannot sign its peer list")
    lines = [canonical({"name": p.name, "origin": p.origin, "vkey": p.vkey, "url": p.url, "country": p.country}).decode()
             for p in list_peers(ledger)]
    return ledger.log_key.sign_note("".join(f"{line}\n" for line in [f"{ledger.origin} peers", *lines]))
