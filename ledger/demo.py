"""A realistic demo data set: several countries' authorities, makers, dealers, customs and police.

It tells a few stories an investigator would recognise: firearms sold through dealers, one
sold to a private owner then stolen and seized abroad, a transfer never received, a CITES
export permit for ranched Nile crocodile skins used in partial shipments, seizures, a
forfeiture and a destruction. Keys are written as keystores so the demo parties can act.

A `Cast` says who is registered on one demo log and which stories it tells: `world` is one log
for every country (`make run`); `de` and `ke` are two national logs of a network (`make
run-network`), a German firearms registry and a Kenyan wildlife and customs authority.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from ulid import ULID

from ledger.domain.personal import commit
from ledger.files import write_private
from ledger.log.codec import format_time, utc_now
from ledger.log.keys import LocalAccount, new_account, save_keystore
from ledger.log.signatures import sign_event
from ledger.store.ledger import Ledger

__all__ = ["DemoParty", "PARTIES", "DEMO_PASSPHRASE", "run_demo", "DemoResult", "Cast", "CASTS"]

DEMO_PASSPHRASE = "demo"

# id, name, role, country, licensed
PARTIES: list[tuple[str, str, str, str, bool]] = [
    ("registry", "Tracemark Registry (demo operator)", "admin", "BE", False),
    ("ke-kws", "Kenya Wildlife Service, CITES Management Authority", "permit_authority", "KE", False),
    ("de-bfn", "Bundesamt fuer Naturschutz, CITES Management Authority", "permit_authority", "DE", False),
    ("it-beretta", "Fabbrica d'Armi Pietro Beretta S.p.A.", "manufacturer", "IT", True),
    ("at-glock", "Glock Ges.m.b.H.", "manufacturer", "AT", True),
    ("de-jagd-schmidt", "Jagd- und Waffen Schmidt GmbH", "dealer", "DE", True),
    ("be-armurerie", "Armurerie de Liege SPRL", "dealer", "BE", True),
    ("ke-croc-ranch", "Mombasa Crocodile Ranch Ltd", "importer_exporter", "KE", True),
    ("de-leder", "Leder Manufaktur Offenbach GmbH", "importer_exporter", "DE", True),
    ("ke-customs", "Kenya Revenue Authority Customs, JKIA", "customs", "KE", False),
    ("de-customs", "Zoll Frankfurt am Main Flughafen", "customs", "DE", False),
    ("de-police", "Landeskriminalamt Hessen", "police", "DE", False),
    ("be-police", "Police Federale, Liege", "police", "BE", False),
    ("investigator", "INTERPOL Firearms Programme (demo)", "investigator", "FR", False),
]

DE_PARTIES: list[tuple[str, str, str, str, bool]] = [
    ("registry", "Bundesverwaltungsamt, Nationales Waffenregister (demo operator)", "admin", "DE", False),
    ("de-bfn", "Bundesamt fuer Naturschutz, CITES Management Authority", "permit_authority", "DE", False),
    ("de-walther", "Carl Walther GmbH", "manufacturer", "DE", True),
    ("de-jagd-schmidt", "Jagd- und Waffen Schmidt GmbH", "dealer", "DE", True),
    ("de-leder", "Leder Manufaktur Offenbach GmbH", "importer_exporter", "DE", True),
    ("de-customs", "Zoll Frankfurt am Main Flughafen", "customs", "DE", False),
    ("de-police", "Landeskriminalamt Hessen", "police", "DE", False),
    ("de-bka", "Bundeskriminalamt, Waffen und Sprengstoff", "investigator", "DE", False),
]
"""The German firearms registry's own log: its admin, a German maker and dealer, customs and police."""

KE_PARTIES: list[tuple[str, str, str, str, bool]] = [
    ("registry", "Kenya Wildlife and Customs Registry (demo operator)", "admin", "KE", False),
    ("ke-kws", "Kenya Wildlife Service, CITES Management Authority", "permit_authority", "KE", False),
    ("ke-croc-ranch", "Mombasa Crocodile Ranch Ltd", "importer_exporter", "KE", True),
    ("de-leder", "Leder Manufaktur Offenbach GmbH", "importer_exporter", "DE", True),  # the importer its permit names
    ("ke-customs", "Kenya Revenue Authority Customs, JKIA", "customs", "KE", False),
    ("ke-police", "National Police Service, JKIA Police Station", "police", "KE", False),
    ("ke-dci", "Directorate of Criminal Investigations, Wildlife Crimes Unit", "investigator", "KE", False),
]
"""The Kenyan wildlife and customs authority's own log: the permit authority, a ranch exporting
skins, the German importer on its permit, customs, police and investigators."""


@dataclass
class DemoParty:
    """A demo party acting on the log named `origin`, whose envelopes it signs with `account`."""

    id: str
    role: str
    country: str
    account: LocalAccount
    origin: str

    def envelope(self, event_type: str, when: datetime, personal: dict[str, str] | None = None, /, **fields: Any) -> dict[str, Any]:
        event = {"type": event_type, "actor": self.id, "time": format_time(when), **fields}
        return sign_event(self.account, event, personal, origin=self.origin)


@dataclass
class DemoResult:
    parties: dict[str, DemoParty]
    items: dict[str, str] = field(default_factory=dict)  # story name -> item uid
    events: int = 0


class _Script:
    """Collects signed envelopes in order, with a clock that moves forward."""

    def __init__(self, start: datetime, now: datetime) -> None:
        self.clock = start
        self.now = now
        self.envelopes: list[dict[str, Any]] = []

    def tick(self, hours: float = 6) -> datetime:
        self.clock += timedelta(hours=hours)
        return self.clock

    def add(self, actor: DemoParty, event_type: str, /, personal: dict[str, str] | None = None, hours: float = 6, **fields: Any) -> None:
        self.envelopes.append(actor.envelope(event_type, self.tick(hours), personal, **fields))


STORIES = {
    "valid_firearm": "clean: scans VALID",
    "stolen_then_seized": "stolen in Germany, seized in Belgium",
    "never_received": "shipped to Belgium, never received",
    "lost": "lost by a German dealer",
    "released": "seized in Belgium, then released",
    "destroyed": "seized, forfeited and destroyed",
    "specimen_imported": "skin imported to Germany",
    "specimen_seized": "skin seized in Frankfurt",
    "specimen_at_ranch": "skin still at the Kenyan ranch",
    "stolen_pistol": "stolen from a German dealer",
    "specimen_exported": "skin exported to Germany, in transit",
}
"""What each demo story's item went through, in a newcomer's words: printed under its label."""


def stories_path(keys_dir: Path) -> Path:
    """Where the demo writes which item tells which story (`{uid: words}`), beside the parties' keystores."""
    return keys_dir / "stories.json"


def run_demo(
    ledger: Ledger,
    keys_dir: Path | None = None,
    items: int = 20,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    cast: str = "world",
) -> DemoResult:
    """Import the demo data set of `cast` (a name in `CASTS`) into an empty log; write the parties'
    keystores to `keys_dir`.

    Its two years of history come in through the authority's import (`Ledger.import_batch`),
    as an earlier registry's would: each entry is marked imported."""
    now = now or utc_now()
    chosen = CASTS[cast]
    parties = {pid: DemoParty(pid, role, country, new_account(), ledger.origin) for pid, _, role, country, _ in chosen.parties}
    script = _Script(now - timedelta(days=720), now)
    _register(script, chosen.parties, parties, now)
    result = DemoResult(parties=parties)
    for story in chosen.stories:
        story(script, parties, result)
    _bulk_firearms(script, parties, result, items)
    total = len(script.envelopes)
    for start in range(0, total, 500):
        ledger.import_batch(script.envelopes[start : start + 500])
        if progress is not None:
            progress(min(start + 500, total), total)
    result.events = total
    if keys_dir is not None:
        _write_keys(keys_dir, parties)
        stories = {uid: STORIES[story] for story, uid in result.items.items() if story in STORIES}
        write_private(stories_path(keys_dir), json.dumps(stories, indent=2) + "\n")  # beside the keys, the owner's alone
    return result


def _register(script: _Script, cast: list[tuple[str, str, str, str, bool]], parties: dict[str, DemoParty], now: datetime) -> None:
    admin = parties["registry"]  # every cast's admin
    for pid, name, role, country, licensed in cast:
        info: dict[str, Any] = {"id": pid, "name": name, "role": role, "country": country, "addresses": [parties[pid].account.address]}
        if licensed:
            info |= {
                "licence_number": f"{country}-LIC-{abs(hash(pid)) % 100000:05d}",
                "licence_valid_from": format_time(now - timedelta(days=1500)),
                "licence_valid_until": format_time(now + timedelta(days=1500)),
            }
        script.add(admin, "register_party", hours=1, party=info)


class _Make(NamedTuple):
    make: str
    code: str
    calibre: str
    prefix: str  # of the bulk firearms' serials
    model: str  # of the bulk firearms


_MAKES = {
    "it-beretta": _Make("Beretta", "BER", "9x19mm", "BX", "APX A1"),
    "at-glock": _Make("Glock", "GLK", "9x19mm", "GX", "G17 Gen5"),
    "de-walther": _Make("Walther", "WAL", "9x19mm", "WX", "PDP Full Size"),
}


def _firearm(maker: DemoParty, serial: str, model: str, year: int = 2024) -> tuple[str, dict[str, Any]]:
    uid = str(ULID())
    make, code, calibre = _MAKES[maker.id][:3]
    marking = {"maker_code": code, "serial": serial, "country": maker.country, "year": year,
               "make": make, "model": model, "category": "B", "calibre": calibre}
    return uid, marking


def _firearm_stories(script: _Script, p: dict[str, DemoParty], result: DemoResult) -> None:
    beretta, glock, schmidt, liege = p["it-beretta"], p["at-glock"], p["de-jagd-schmidt"], p["be-armurerie"]
    # 1. Sold retail in Germany, stolen from the owner, seized in Belgium: a diversion after sale.
    uid, marking = _firearm(beretta, "PX4-DE-001", "APX A1")
    script.add(beretta, "mark_firearm", item=uid, marking=marking)
    script.add(beretta, "transfer", item=uid, to=schmidt.id, reference="DE-EUB-2025-114")
    script.add(schmidt, "receive", item=uid, hours=48)
    commitment, salt = commit("Max Mustermann", "Hauptstrasse 1, 60311 Frankfurt am Main")
    script.add(schmidt, "transfer", personal={"salt": salt, "name": "Max Mustermann", "address": "Hauptstrasse 1, 60311 Frankfurt am Main"},
               item=uid, owner_commitment=commitment, reference="WBK 4711/2025", hours=24 * 30)
    script.add(p["de-police"], "report_stolen", item=uid, place="Frankfurt am Main", details="burglary reported by the owner", hours=24 * 200)
    script.add(p["be-police"], "seize", item=uid, country="BE", place="Liege, rue Saint-Leonard", reason="found in a vehicle search", case="LG-2026-0311", hours=24 * 20)
    result.items["stolen_then_seized"] = uid
    # 2. Shipped to a Belgian dealer and never received: an open question for investigators.
    uid, marking = _firearm(glock, "GLK-BE-7781", "G17 Gen5")
    script.add(glock, "mark_firearm", item=uid, marking=marking)
    script.add(glock, "transfer", item=uid, to=liege.id, reference="AT-BE-2025-55")
    result.items["never_received"] = uid
    # 3. Lost by a dealer.
    uid, marking = _firearm(glock, "GLK-DE-1002", "G19 Gen5")
    script.add(glock, "mark_firearm", item=uid, marking=marking)
    script.add(glock, "transfer", item=uid, to=schmidt.id, reference="AT-DE-2025-12")
    script.add(schmidt, "receive", item=uid, hours=72)
    script.add(schmidt, "report_lost", item=uid, place="Frankfurt warehouse", details="missing at stock count", hours=24 * 60)
    result.items["lost"] = uid
    # 4. Seized by customs, released after checks.
    uid, marking = _firearm(beretta, "PX4-BE-204", "92FS")
    script.add(beretta, "mark_firearm", item=uid, marking=marking)
    script.add(beretta, "transfer", item=uid, to=liege.id, reference="IT-BE-2025-77")
    script.add(liege, "receive", item=uid, hours=48)
    script.add(p["be-police"], "seize", item=uid, country="BE", place="Liege", reason="paperwork check", hours=24 * 10)
    script.add(p["be-police"], "release", item=uid, reason="licence confirmed", hours=24 * 3)
    result.items["released"] = uid
    # 5. Seized, forfeited and destroyed.
    uid, marking = _firearm(beretta, "PX4-DE-900", "APX A1")
    script.add(beretta, "mark_firearm", item=uid, marking=marking)
    script.add(beretta, "transfer", item=uid, to=schmidt.id, reference="IT-DE-2025-90")
    script.add(schmidt, "receive", item=uid, hours=48)
    script.add(p["de-police"], "seize", item=uid, country="DE", place="Offenbach", reason="sold without licence check", case="OF-2026-17", hours=24 * 40)
    script.add(p["de-police"], "forfeit", item=uid, reason="court order AG Offenbach 12 Js 33/26", hours=24 * 60)
    script.add(p["de-police"], "destroy", item=uid, method="cut and melted", reason="forfeited", hours=24 * 7)
    result.items["destroyed"] = uid
    # 6. A clean one for the border scan demo.
    uid, marking = _firearm(beretta, "PX4-DE-002", "APX A1")
    script.add(beretta, "mark_firearm", item=uid, marking=marking)
    script.add(beretta, "transfer", item=uid, to=schmidt.id, reference="IT-DE-2025-115")
    script.add(schmidt, "receive", item=uid, hours=48)
    result.items["valid_firearm"] = uid


def _german_pistols(script: _Script, p: dict[str, DemoParty], result: DemoResult) -> None:
    """A German maker's pistols sold to a German dealer: one stolen from the dealer's shop, one clean."""
    walther, schmidt = p["de-walther"], p["de-jagd-schmidt"]
    uid, marking = _firearm(walther, "WAL-PDP-0815", "PDP Compact")
    script.add(walther, "mark_firearm", item=uid, marking=marking)
    script.add(walther, "transfer", item=uid, to=schmidt.id, reference="DE-WBK-2025-031")
    script.add(schmidt, "receive", item=uid, hours=48)
    script.add(p["de-police"], "report_stolen", item=uid, place="Frankfurt am Main, Jagd- und Waffen Schmidt",
               details="shop burglary, display case forced", hours=24 * 90)
    result.items["stolen_pistol"] = uid
    uid, marking = _firearm(walther, "WAL-PDP-0816", "PDP Compact")
    script.add(walther, "mark_firearm", item=uid, marking=marking)
    script.add(walther, "transfer", item=uid, to=schmidt.id, reference="DE-WBK-2025-032")
    script.add(schmidt, "receive", item=uid, hours=48)
    result.items["valid_firearm"] = uid


def _wildlife_story(script: _Script, p: dict[str, DemoParty], result: DemoResult) -> None:
    """A CITES export permit for 6 ranched crocodile skins, used in two partial shipments.

    German customs records their arrival only on a log where it is a party: on Kenya's own log
    the exported skins stay in transit to Germany."""
    now = script.now
    kws, ranch, leder = p["ke-kws"], p["ke-croc-ranch"], p["de-leder"]
    german_customs = p.get("de-customs")
    issued = script.tick(24)
    permit = {
        "number": "KE-2026-EX-0042",
        "kind": "export",
        "issuing_country": "KE",
        "exporter": ranch.id,
        "importer": leder.id,
        "export_country": "KE",
        "import_country": "DE",
        "valid_from": format_time(issued),
        "valid_until": format_time(max(issued + timedelta(days=180), now + timedelta(days=30))),
        "lines": [
            {"line": 1, "species": "Crocodylus niloticus", "appendix": "II", "source": "R", "purpose": "T", "quantity": "6", "unit": "pcs"},
        ],
    }
    script.add(kws, "issue_permit", permit=permit)
    skins = []
    for n in range(1, 7):
        uid = str(ULID())
        tag = {"kind": "universal_tag", "serial": f"KE-CN-2026-{n:06d}", "species": "Crocodylus niloticus", "species_code": "CRONIL",
               "country_of_origin": "KE", "year": 2026, "quantity": "1", "unit": "pcs", "description": "salted skin, belly width 38 cm"}
        script.add(kws, "mark_specimen", item=uid, permit=permit["number"], line=1, tag=tag, hours=1)
        skins.append(uid)
    for uid in skins[:4]:  # first shipment: 4 of 6
        script.add(p["ke-customs"], "export", item=uid, permit=permit["number"], line=1, quantity="1", country="KE", location="JKIA cargo", hours=1)
    if german_customs is not None:
        for uid in skins[:4]:
            script.add(german_customs, "import", item=uid, permit=permit["number"], line=1, quantity="1", country="DE", location="Frankfurt cargo", hours=1)
    script.add(p["ke-customs"], "export", item=skins[4], permit=permit["number"], line=1, quantity="1", country="KE", location="JKIA cargo", hours=24 * 5)
    if german_customs is not None:
        script.add(german_customs, "seize", item=skins[4], country="DE", place="Frankfurt cargo", reason="tag does not match the skin's size", hours=12)
        result.items["specimen_imported"] = skins[0]
        result.items["specimen_seized"] = skins[4]
    else:
        result.items["specimen_exported"] = skins[0]
    result.items["specimen_at_ranch"] = skins[5]


def _bulk_firearms(script: _Script, p: dict[str, DemoParty], result: DemoResult, count: int) -> None:
    """`count` more firearms of the cast's makers, each shipped to and received by one of its dealers."""
    makers = [party for party in p.values() if party.role == "manufacturer"]
    dealers = [party for party in p.values() if party.role == "dealer"]
    if not (makers and dealers):
        return
    for n in range(count):
        maker, dealer = makers[n % len(makers)], dealers[(n // len(makers)) % len(dealers)]
        uid, marking = _firearm(maker, f"{marking_prefix(maker)}-{n:06d}", _MAKES[maker.id].model)
        script.add(maker, "mark_firearm", item=uid, marking=marking, hours=0.1)
        script.add(maker, "transfer", item=uid, to=dealer.id, reference=f"BULK-{n:06d}", hours=0.1)
        script.add(dealer, "receive", item=uid, hours=0.1)
        result.items.setdefault("bulk_first", uid)


def marking_prefix(maker: DemoParty) -> str:
    return _MAKES[maker.id].prefix


StoryTeller = Callable[[_Script, dict[str, DemoParty], DemoResult], None]


@dataclass(frozen=True)
class Cast:
    """One demo log: who is registered on it (its admin is always `registry`) and the stories it tells."""

    parties: list[tuple[str, str, str, str, bool]]
    stories: tuple[StoryTeller, ...]


CASTS: dict[str, Cast] = {
    "world": Cast(PARTIES, (_firearm_stories, _wildlife_story)),
    "de": Cast(DE_PARTIES, (_german_pistols,)),
    "ke": Cast(KE_PARTIES, (_wildlife_story,)),
}
"""The demo data sets by name: one log for every country, or one national log of a network."""


def _write_keys(keys_dir: Path, parties: dict[str, DemoParty]) -> None:
    index = {}
    for party in parties.values():
        path = save_keystore(party.account, keys_dir / f"{party.id}.json", DEMO_PASSPHRASE, iterations=2**10)
        index[party.id] = {"role": party.role, "country": party.country, "address": party.account.address, "keystore": str(path)}
    (keys_dir / "parties.json").write_text(json.dumps(index, indent=2) + "\n")
