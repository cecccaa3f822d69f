"""A small world of registered demo parties that tests act through, one signed event at a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ulid import ULID

from ledger.demo import PARTIES, DemoParty
from ledger.domain.events import event_bytes
from ledger.log.codec import format_time
from ledger.log.keys import LocalAccount, new_account, sign
from ledger.store.appender import KEEP_NEW_ROWS
from ledger.store.ledger import Ledger, Receipt
from ledger.store.txview import StateCache
from tests.conftest import NOW


def signed_without_origin(account: LocalAccount, event: dict[str, Any]) -> dict[str, Any]:
    """An envelope as parties signed them before events named their log: no origin in the signed bytes."""
    return {"event": event, "signer": account.address, "signature": sign(account, event_bytes(event))}


class CountingCache(StateCache):
    """A writer's cache that counts how often the writer starts it again."""

    def __init__(self) -> None:
        super().__init__(new_limit=KEEP_NEW_ROWS)
        self.started_again = 0

    def clear(self) -> None:
        self.started_again += 1
        super().clear()


def writer_on(ledger: Ledger, **parts: Any) -> Ledger:
    """Another writer on `ledger`'s log, as a second process's would be, built with `parts`
    (`cache`, `group_commit`) that a test gives it to watch them."""
    return Ledger(ledger.db, ledger.origin, ledger.log_key, ledger.clock, ledger.reporting_window, **parts)


LAG = timedelta(days=1)
"""How far behind the ledger's clock a World's clock runs: well within the reporting window."""


class World:
    """The demo's parties registered on `ledger`; `act` signs and appends as any of them.

    Its clock runs a minute an event, a day behind the ledger's and following it when the
    ledger's moves on. A world that `imports` tells a history of any past (from `start`)
    through the authority's import instead.
    """

    def __init__(self, ledger: Ledger, start: datetime | None = None, imports: bool = False) -> None:
        self.ledger = ledger
        self.clock = start or ledger.clock() - LAG
        self.imports = imports
        self.parties = {pid: DemoParty(pid, role, country, new_account(), ledger.origin) for pid, _, role, country, _ in PARTIES}
        self._serial = 0
        for pid, name, role, country, licensed in PARTIES:
            info: dict[str, Any] = {"id": pid, "name": name, "role": role, "country": country,
                                    "addresses": [self.parties[pid].account.address]}
            if licensed:
                info |= {"licence_number": f"LIC-{pid}", "licence_valid_from": format_time(NOW - timedelta(days=400)),
                         "licence_valid_until": format_time(NOW + timedelta(days=400))}
            self.act("registry", "register_party", party=info)

    def tick(self) -> datetime:
        self.clock += timedelta(minutes=1)
        if not self.imports:
            self.clock = max(self.clock, self.ledger.clock() - LAG)
        return self.clock

    def envelope(self, who: str, event_type: str, /, personal: dict[str, str] | None = None,
                 at: datetime | None = None, **fields: Any) -> dict[str, Any]:
        return self.parties[who].envelope(event_type, at or self.tick(), personal, **fields)

    def act(self, who: str, event_type: str, /, personal: dict[str, str] | None = None,
            at: datetime | None = None, **fields: Any) -> Receipt:
        envelope = self.envelope(who, event_type, personal, at, **fields)
        return self.ledger.import_batch([envelope])[0] if self.imports else self.ledger.append(envelope)

    # ------------------------------------------------------------ common stories

    def marking(self, maker: str = "it-beretta", serial: str | None = None) -> dict[str, Any]:
        self._serial += 1
        party = self.parties[maker]
        return {"maker_code": "BER" if maker == "it-beretta" else "GLK", "serial": serial or f"T-{self._serial:05d}",
                "country": party.country, "year": 2025, "make": "Beretta" if maker == "it-beretta" else "Glock",
                "model": "APX A1", "category": "B", "calibre": "9x19mm"}

    def firearm(self, maker: str = "it-beretta", serial: str | None = None) -> str:
        uid = str(ULID())
        self.act(maker, "mark_firearm", item=uid, marking=self.marking(maker, serial))
        return uid

    def ship(self, uid: str, sender: str, receiver: str) -> None:
        self.act(sender, "transfer", item=uid, to=receiver, reference="REF-1")
        self.act(receiver, "receive", item=uid)

    def permit(self, number: str = "KE-2026-EX-0001", quantity: str = "6", **overrides: Any) -> dict[str, Any]:
        info = {"number": number, "kind": "export", "issuing_country": "KE", "exporter": "ke-croc-ranch",
                "importer": "de-leder", "export_country": "KE", "import_country": "DE",
                "valid_from": format_time(NOW - timedelta(days=60)), "valid_until": format_time(NOW + timedelta(days=60)),
                "lines": [{"line": 1, "species": "Crocodylus niloticus", "appendix": "II", "source": "R",
                           "purpose": "T", "quantity": quantity, "unit": "pcs"}]}
        return info | overrides

    def issue_permit(self, **overrides: Any) -> str:
        info = self.permit(**overrides)
        self.act("ke-kws", "issue_permit", permit=info)
        return info["number"]

    def tag(self, serial: str | None = None, species: str = "Crocodylus niloticus") -> dict[str, Any]:
        self._serial += 1
        return {"kind": "universal_tag", "serial": serial or f"KE-CN-{self._serial:06d}", "species": species,
                "species_code": "CRONIL", "country_of_origin": "KE", "year": 2026, "quantity": "1", "unit": "pcs"}

    def specimen(self, permit: str, line: int = 1, who: str = "ke-kws") -> str:
        uid = str(ULID())
        self.act(who, "mark_specimen", item=uid, permit=permit, line=line, tag=self.tag())
        return uid

    def export(self, uid: str, permit: str, quantity: str = "1") -> Receipt:
        return self.act("ke-customs", "export", item=uid, permit=permit, line=1, quantity=quantity, country="KE", location="JKIA")

    def import_(self, uid: str, permit: str, quantity: str = "1") -> Receipt:
        return self.act("de-customs", "import", item=uid, permit=permit, line=1, quantity=quantity, country="DE", location="FRA")
