"""The state machine: who may do what to which item, permit quantities and custody.

Each rule is a small policy object whose `check` raises `RuleViolation(rule, detail)`;
`AllOf` combines them and refuses to be built empty, so an event type can never be
accepted by accident. `check_event` runs the rule set of the event's type against a
read-only `View` of the current state; it never changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from ledger.domain import events as ev
from ledger.domain.event_fields import WrongEventType, item_of, permit_number_of
from ledger.domain.review_rules import QuestionOpen, VoidAllowed
from ledger.errors import RuleViolation
from ledger.log.checkpoint import parse_verifier_key
from ledger.log.codec import parse_time
from ledger.log.keys import normalise_address
from ledger.store.tables import Entry, Item, Party, PartyKey, PeerRow, PeerTraceRow, Permit, PermitLineRow

__all__ = ["View", "Context", "Rule", "AllOf", "RULES", "check_event", "marked_serial", "FLAGGED", "LICENSED_ROLES",
           "REPORTING_WINDOW", "MAX_FUTURE_SKEW", "check_reported_in_time", "check_in_order"]

FLAGGED = {"lost", "stolen", "seized", "forfeited", "destroyed", "deactivated"}
TERMINAL = {"destroyed", "deactivated"}
LICENSED_ROLES = {"manufacturer", "dealer", "importer_exporter"}
ENFORCEMENT = {"customs", "police"}
UNIDENTIFYING_FACTS = {"description"}
"""Marking fields that do not identify an item: the only ones a correction may change once it is flagged."""

REPORTING_WINDOW = timedelta(days=7)
"""How long before the log records it an event may have happened, by default: a party reports what
it did within this; older history comes in through the authority's import."""
MAX_FUTURE_SKEW = timedelta(minutes=5)
"""How far after the log's clock an event's time may lie: the clock skew allowed between a party's
machine and the log. A later time would let a party pre-date what has not happened yet."""


def check_reported_in_time(event_time: str, recorded_at: str, window: timedelta | None) -> None:
    """Raise unless `event_time` lies within `window` before `recorded_at` (no bound before it when
    `window` is None: an imported entry) and at most MAX_FUTURE_SKEW after it."""
    when, recorded = parse_time(event_time), parse_time(recorded_at)
    if when > recorded + MAX_FUTURE_SKEW:
        raise RuleViolation("time_in_future", f"event time {event_time} is after the log's clock {recorded_at}")
    if window is not None and when < recorded - window:
        raise RuleViolation("reporting_window_exceeded",
                            f"event time {event_time} is more than {window} before the log's clock {recorded_at}")


def check_in_order(item: str, event_time: str, last_time: str) -> None:
    """Raise if an event of `item` is dated before the item's last event: its history never goes back in time."""
    if parse_time(event_time) < parse_time(last_time):
        raise RuleViolation("out_of_order", f"event time {event_time} is before item {item}'s last event ({last_time})")


class View(Protocol):
    """Read access to the current state that the rules need."""

    def party(self, party_id: str) -> Party | None: ...
    def key(self, address: str) -> PartyKey | None: ...
    def item(self, uid: str) -> Item | None: ...
    def item_by_serial(self, marker: str, serial: str) -> Item | None: ...
    def permit(self, number: str) -> Permit | None: ...
    def permit_line(self, number: str, line: int) -> PermitLineRow | None: ...
    def entry(self, seq: int) -> Entry | None: ...
    def get(self, table: type, key: object) -> Any: ...
    def has_parties(self) -> bool: ...
    def peers(self) -> list[PeerRow]: ...


@dataclass
class Context:
    """One event under judgement, with the state it is judged against."""

    event: ev.Event
    seq: int
    view: View
    actor: Party

    @property
    def item(self) -> Item:
        uid = item_of(self.event)
        item = self.view.item(uid)
        if item is None:
            raise RuleViolation("unknown_item", f"no item {uid}")
        return item

    def permit(self, number: str) -> Permit:
        permit = self.view.permit(number)
        if permit is None:
            raise RuleViolation("permit_missing", f"no permit {number}")
        return permit

    def line(self, number: str, line: int) -> PermitLineRow:
        row = self.view.permit_line(number, line)
        if row is None:
            raise RuleViolation("permit_line_missing", f"permit {number} has no line {line}")
        return row


class Rule(Protocol):
    def check(self, ctx: Context) -> None: ...


class AllOf:
    """Every rule must hold; the first that does not raises."""

    def __init__(self, *rules: Rule) -> None:
        if not rules:
            raise ValueError("AllOf needs at least one rule: an empty rule set would accept anything")
        self.rules = rules

    def check(self, ctx: Context) -> None:
        for rule in self.rules:
            rule.check(ctx)


# ---------------------------------------------------------------- who acts


@dataclass(frozen=True)
class ActorRole:
    roles: tuple[str, ...]

    def check(self, ctx: Context) -> None:
        if ctx.actor.role not in self.roles:
            raise RuleViolation(
                "actor_role",
                f"a {ctx.actor.role} may not {ctx.event.type}; only {' or '.join(self.roles)}",
            )


def licence_valid_at(party: Party, moment: str) -> bool:
    """Licensed roles need a licence valid at `moment`; other roles need none."""
    if party.role not in LICENSED_ROLES:
        return True
    if party.licence_number is None:
        return False
    when = parse_time(moment)
    if party.licence_valid_from and when < parse_time(party.licence_valid_from):
        return False
    return not (party.licence_valid_until and when > parse_time(party.licence_valid_until))


class ActorLicensed:
    def check(self, ctx: Context) -> None:
        if not licence_valid_at(ctx.actor, ctx.event.time):
            raise RuleViolation("licence_invalid", f"{ctx.actor.id} holds no licence valid at {ctx.event.time}")


# ---------------------------------------------------------------- parties and keys


class CanRegister:
    """Admins register anyone; a permit authority registers licensed parties of its own country."""

    def check(self, ctx: Context) -> None:
        event = ctx.event
        if not isinstance(event, ev.RegisterParty):
            raise WrongEventType(event.type, "party to register")
        info = event.party
        if ctx.view.party(info.id) is not None:
            raise RuleViolation("party_exists", f"party {info.id} is already registered")
        for address in info.addresses:
            if ctx.view.key(address) is not None:
                raise RuleViolation("key_in_use", f"address {address} already belongs to a party")
        if ctx.actor.role == "admin":
            return
        if ctx.actor.role == "permit_authority" and info.role in LICENSED_ROLES and info.country == ctx.actor.country:
            return
        raise RuleViolation("actor_role", f"a {ctx.actor.role} may not register a {info.role} of {info.country}")


class KeyOwnerOrAdmin:
    def check(self, ctx: Context) -> None:
        event = ctx.event
        if not isinstance(event, (ev.AddKey, ev.RevokeKey)):
            raise WrongEventType(event.type, "key to manage")
        if ctx.view.party(event.party) is None:
            raise RuleViolation("unknown_party", f"no party {event.party}")
        if ctx.actor.role != "admin" and ctx.actor.id != event.party:
            raise RuleViolation("actor_role", "only the party itself or an admin manages its keys")
        key = ctx.view.key(event.address)
        if event.type == "add_key" and key is not None:
            raise RuleViolation("key_in_use", f"address {event.address} already belongs to {key.party_id}")
        if event.type == "revoke_key" and (key is None or key.party_id != event.party):
            raise RuleViolation("unknown_key", f"{event.address} is not a key of {event.party}")


class RevocationOnlyEarlier:
    """A key's revocation stands: revoking it again may only move the start earlier.

    So no one, the party least of all, can lift or postpone a revocation (an admin's, after a
    key was stolen) by revoking the key again from a later time.
    """

    def check(self, ctx: Context) -> None:
        event: ev.RevokeKey = ctx.event  # type: ignore[assignment]
        key = ctx.view.key(normalise_address(event.address))
        if key is not None and key.revoked_from is not None and parse_time(event.from_time) >= parse_time(key.revoked_from):
            raise RuleViolation("revocation_stands", f"key {key.address} is revoked from {key.revoked_from}; "
                                                     f"a revocation may only move earlier, not to {event.from_time}")


# ---------------------------------------------------------------- items


class ItemIsNew:
    def check(self, ctx: Context) -> None:
        uid = item_of(ctx.event)
        if ctx.view.item(uid) is not None:
            raise RuleViolation("item_exists", f"item {uid} is already marked")


class SerialUnique:
    """A serial is unique per marking party (manufacturer or tagging authority)."""

    def check(self, ctx: Context) -> None:
        serial = marked_serial(ctx.event)
        existing = ctx.view.item_by_serial(ctx.actor.id, serial)
        if existing is not None:
            raise RuleViolation("serial_not_unique", f"{ctx.actor.id} already marked serial {serial} ({existing.uid})")


def marked_serial(event: ev.Event) -> str:
    if isinstance(event, ev.MarkFirearm):
        return event.marking.serial
    return event.tag.serial  # type: ignore[union-attr]


@dataclass(frozen=True)
class ItemStatus:
    allowed: tuple[str, ...]

    def check(self, ctx: Context) -> None:
        item = ctx.item
        if item.status not in self.allowed:
            raise RuleViolation(
                "item_flagged" if item.status in FLAGGED else "item_status",
                f"item {item.uid} is {item.status}; {ctx.event.type} needs it {' or '.join(self.allowed)}",
            )


class InOrder:
    def check(self, ctx: Context) -> None:
        check_in_order(ctx.item.uid, ctx.event.time, ctx.item.updated_at)


class NoPendingTransfer:
    def check(self, ctx: Context) -> None:
        if ctx.item.pending_to is not None:
            raise RuleViolation("transfer_pending", f"item {ctx.item.uid} is already on its way to {ctx.item.pending_to}")


class IsCustodian:
    def check(self, ctx: Context) -> None:
        if ctx.item.custodian != ctx.actor.id:
            raise RuleViolation("not_custodian", f"{ctx.actor.id} does not hold item {ctx.item.uid}")


class ReceiverAllowed:
    def check(self, ctx: Context) -> None:
        event: ev.Transfer = ctx.event  # type: ignore[assignment]
        if event.owner_commitment is not None:
            if ctx.actor.role not in ("dealer", "manufacturer"):
                raise RuleViolation("actor_role", "only a licensed dealer or manufacturer sells to a private owner")
            return
        receiver = ctx.view.party(event.to)  # type: ignore[arg-type]
        if receiver is None:
            raise RuleViolation("unknown_party", f"no party {event.to}")
        if receiver.id == ctx.actor.id:
            raise RuleViolation("self_transfer", "a party cannot transfer an item to itself")
        if not licence_valid_at(receiver, event.time):
            raise RuleViolation("receiver_licence_invalid", f"{receiver.id} holds no licence valid at {event.time}")


class PendingForActor:
    def check(self, ctx: Context) -> None:
        item = ctx.item
        if item.status != "active" or item.pending_to != ctx.actor.id:
            raise RuleViolation("no_pending_transfer", f"no transfer of {item.uid} to {ctx.actor.id} awaits receipt")


class ReporterAllowed:
    """The custodian reports its own losses; police and customs may report any."""

    def check(self, ctx: Context) -> None:
        if ctx.actor.role in ENFORCEMENT or ctx.item.custodian == ctx.actor.id:
            return
        raise RuleViolation("actor_role", f"{ctx.actor.id} neither holds item {ctx.item.uid} nor is police or customs")


class SeizingAuthority:
    def check(self, ctx: Context) -> None:
        if ctx.item.seized_by != ctx.actor.id:
            raise RuleViolation("not_seizing_authority", f"only {ctx.item.seized_by} may {ctx.event.type} item {ctx.item.uid}")


# ---------------------------------------------------------------- countries: customs and police act at home


class InOwnCountry:
    """The country an enforcement event names (where it seizes, inspects or endorses) is the actor's own."""

    def check(self, ctx: Context) -> None:
        country: str = ctx.event.country  # type: ignore[union-attr]
        if country != ctx.actor.country:
            raise RuleViolation("wrong_country", f"{ctx.actor.id} is {ctx.actor.role} of {ctx.actor.country}: "
                                                 f"it may not {ctx.event.type} in {country}")


class SeizedWhereItIs:
    """An item at rest is seized in the country where the ledger has it, its holder's. An item on
    its way (shipped, in transit) or lost or stolen may turn up anywhere, and is seized where it
    does. The seizure moves the item to that country, so its release and forfeiture, by the
    seizing authority alone, are at home too."""

    def check(self, ctx: Context) -> None:
        item, country = ctx.item, ctx.event.country  # type: ignore[union-attr]
        at_rest = item.status == "active" and item.pending_to is None
        if at_rest and country != item.country:
            raise RuleViolation("wrong_country", f"item {item.uid} is held in {item.country}, not in {country}")


class DisposalAllowed:
    """The custodian destroys or deactivates what it holds, a seizing authority what was forfeited to it."""

    def check(self, ctx: Context) -> None:
        item = ctx.item
        if item.status not in ("active", "forfeited"):
            raise RuleViolation("item_flagged" if item.status in FLAGGED else "item_status", f"item {item.uid} is {item.status}")
        if item.custodian != ctx.actor.id or item.pending_to is not None:
            raise RuleViolation("not_custodian", f"{ctx.actor.id} does not hold item {item.uid}")


# ---------------------------------------------------------------- permits


def _permit_info(event: ev.Event) -> ev.PermitInfo:
    if not isinstance(event, ev.IssuePermit):
        raise WrongEventType(event.type, "permit to issue")
    return event.permit


class PermitIsNew:
    def check(self, ctx: Context) -> None:
        info = _permit_info(ctx.event)
        if ctx.view.permit(info.number) is not None:
            raise RuleViolation("permit_exists", f"permit {info.number} already exists")


class PermitIssuable:
    """An authority issues permits of its own country, naming registered parties of the right countries."""

    def check(self, ctx: Context) -> None:
        info = _permit_info(ctx.event)
        if info.issuing_country != ctx.actor.country:
            raise RuleViolation("permit_country", f"{ctx.actor.id} issues permits for {ctx.actor.country}, not {info.issuing_country}")
        issuing_side = info.import_country if info.kind in ("import", "firearm_import") else info.export_country
        if info.issuing_country != issuing_side:
            raise RuleViolation("permit_country", f"a {info.kind} permit is issued by {issuing_side}, not {info.issuing_country}")
        for role, party_id, country in (("exporter", info.exporter, info.export_country), ("importer", info.importer, info.import_country)):
            party = ctx.view.party(party_id)
            if party is None:
                raise RuleViolation("unknown_party", f"{role} {party_id} is not registered")
            if party.country != country:
                raise RuleViolation("permit_parties", f"{role} {party_id} is in {party.country}, not {country}")


class PermitIssuer:
    def check(self, ctx: Context) -> None:
        permit = ctx.permit(permit_number_of(ctx.event))
        if permit.issuer != ctx.actor.id:
            raise RuleViolation("not_issuer", f"only {permit.issuer} may change permit {permit.number}")
        if permit.status == "cancelled":
            raise RuleViolation("permit_cancelled", f"permit {permit.number} is already cancelled")


def permit_usable(permit: Permit, moment: str) -> None:
    """Raise unless the permit is valid (not cancelled, within its validity) at `moment`."""
    if permit.status == "cancelled":
        raise RuleViolation("permit_cancelled", f"permit {permit.number} was cancelled")
    when = parse_time(moment)
    if when < parse_time(permit.valid_from):
        raise RuleViolation("permit_not_yet_valid", f"permit {permit.number} is valid from {permit.valid_from}")
    if when > parse_time(permit.valid_until):
        raise RuleViolation("permit_expired", f"permit {permit.number} expired {permit.valid_until}")


class SpecimenPermit:
    """A specimen is tagged under a valid CITES permit line of the same species by its issuer or exporter."""

    def check(self, ctx: Context) -> None:
        event: ev.MarkSpecimen = ctx.event  # type: ignore[assignment]
        permit = ctx.permit(event.permit)
        if permit.kind.startswith("firearm"):
            raise RuleViolation("permit_regime", f"permit {permit.number} is a firearms authorisation")
        if ctx.actor.id not in (permit.issuer, permit.exporter):
            raise RuleViolation("actor_role", f"only {permit.issuer} or {permit.exporter} tag specimens of {permit.number}")
        permit_usable(permit, event.time)
        line = ctx.line(permit.number, event.line)
        if line.species != event.tag.species:
            raise RuleViolation("species_mismatch", f"line {line.line} covers {line.species}, not {event.tag.species}")


class CrossingAllowed:
    """Customs of the permit's export (or import) country endorse the actual quantity on its line."""

    def check(self, ctx: Context) -> None:
        event: ev.Export | ev.Import = ctx.event  # type: ignore[assignment]
        item, permit = ctx.item, ctx.permit(event.permit)
        side = permit.export_country if event.type == "export" else permit.import_country
        if event.country != side:
            raise RuleViolation("route_country_mismatch", f"permit {permit.number} is for {event.type} through {side}, not {event.country}")
        if (item.kind == "firearm") != permit.kind.startswith("firearm"):
            raise RuleViolation("permit_regime", f"permit {permit.number} ({permit.kind}) does not cover a {item.kind}")
        if event.type == "export":
            self._export(ctx, item, permit)
        else:
            self._import(ctx, item, permit)

    def _export(self, ctx: Context, item: Item, permit: Permit) -> None:
        if permit.kind not in ("export", "re-export", "certificate", "firearm_export"):
            raise RuleViolation("permit_kind", f"permit {permit.number} is an {permit.kind} permit, not an export permit")
        if item.custodian != permit.exporter or item.status != "active" or item.pending_to is not None:
            raise RuleViolation("custody_mismatch", f"item {item.uid} is not held by exporter {permit.exporter}")
        permit_usable(permit, ctx.event.time)
        self._endorse(ctx, item, permit)

    def _import(self, ctx: Context, item: Item, permit: Permit) -> None:
        if item.status != "in_transit" or item.pending_to != permit.importer or item.country != permit.export_country:
            raise RuleViolation("custody_mismatch", f"item {item.uid} is not in transit from {permit.export_country} to {permit.importer}")
        if permit.kind in ("import", "firearm_import"):
            permit_usable(permit, ctx.event.time)
            self._endorse(ctx, item, permit)

    @staticmethod
    def _endorse(ctx: Context, item: Item, permit: Permit) -> None:
        event: ev.Export | ev.Import = ctx.event  # type: ignore[assignment]
        line = ctx.line(permit.number, event.line)
        if item.kind == "specimen" and item.facts.get("species") != line.species:
            raise RuleViolation("species_mismatch", f"line {line.line} covers {line.species}, not {item.facts.get('species')}")
        wanted = Decimal(line.endorsed) + Decimal(event.quantity)
        if wanted > Decimal(line.quantity):
            remaining = Decimal(line.quantity) - Decimal(line.endorsed)
            raise RuleViolation(
                "quantity_exhausted",
                f"permit {permit.number} line {line.line} has {remaining} {line.unit} left, {event.quantity} asked",
            )


# ---------------------------------------------------------------- corrections


class CorrectionAllowed:
    def check(self, ctx: Context) -> None:
        event: ev.Correct = ctx.event  # type: ignore[assignment]
        target = ctx.view.entry(event.target_seq)
        if target is None or event.target_seq >= ctx.seq:
            raise RuleViolation("unknown_entry", f"no earlier entry {event.target_seq}")
        if target.actor != ctx.actor.id and ctx.actor.role != "admin":
            raise RuleViolation("actor_role", f"only {target.actor} or an admin may correct entry {event.target_seq}")
        if event.marking is not None and target.event_type not in ("mark_firearm", "mark_specimen"):
            raise RuleViolation("not_a_marking", f"entry {event.target_seq} is a {target.event_type}, not a marking")
        if event.marking is not None:
            self._corrected_marking(ctx, target, event.marking)

    @staticmethod
    def _corrected_marking(ctx: Context, target: Entry, fields: dict[str, object]) -> None:
        """The corrected marking must be as valid as a new one, and its serial unique per marker (a
        serial it replaced stays the item's). A flagged item's identifying facts are evidence: they stay."""
        item = ctx.view.item(target.item_uid)  # type: ignore[arg-type]
        if item is None:
            raise RuleViolation("unknown_item", f"no item {target.item_uid}")
        changed = sorted(name for name, value in fields.items() if name not in UNIDENTIFYING_FACTS and item.facts.get(name) != value)
        if item.status in FLAGGED and changed:
            raise RuleViolation("item_flagged", f"item {item.uid} is {item.status}: its identifying facts "
                                                f"({', '.join(changed)}) cannot be corrected")
        serial = ev.parse_marking(target.event_type, {**item.facts, **fields}).serial
        existing = ctx.view.item_by_serial(item.marker, serial)
        if existing is not None and existing.uid != item.uid:
            raise RuleViolation("serial_not_unique", f"{item.marker} already marked serial {serial} ({existing.uid})")


# ---------------------------------------------------------------- trace requests


class TraceAuthority:
    """A trace request names a registered authority that can answer from the ledger."""

    def check(self, ctx: Context) -> None:
        event: ev.TraceRequest = ctx.event  # type: ignore[assignment]
        authority = ctx.view.party(event.authority)
        if authority is None or authority.role not in ("admin", "permit_authority", "police", "investigator"):
            raise RuleViolation("unknown_authority", f"{event.authority} is not a registered authority that answers traces")


class AnswersRequest:
    """Only the authority a request names answers it, after it was made, about an item that exists."""

    def check(self, ctx: Context) -> None:
        event: ev.TraceAnswer = ctx.event  # type: ignore[assignment]
        entry = ctx.view.entry(event.request_seq)
        if entry is None or entry.event_type != "trace_request" or event.request_seq >= ctx.seq:
            raise RuleViolation("unknown_request", f"entry {event.request_seq} is not a trace request")
        request = ev.parse_event(entry.event)
        if request.authority != ctx.actor.id:  # type: ignore[union-attr]
            raise RuleViolation("actor_role", f"request {event.request_seq} is addressed to {request.authority}, not {ctx.actor.id}")  # type: ignore[union-attr]
        if parse_time(event.time) < parse_time(request.time):
            raise RuleViolation("answer_before_request", f"answer time {event.time} is before the request ({request.time})")
        if event.item is not None and ctx.view.item(event.item) is None:
            raise RuleViolation("unknown_item", f"no item {event.item}")


# ---------------------------------------------------------------- peer logs


class PeerDistinct:
    """A peer is another log, told apart from every other peer by its origin and by its key ID: a
    code names its log by key ID and a signed request by origin, and each must lead to one log."""

    def check(self, ctx: Context) -> None:
        event = ctx.event
        if not isinstance(event, ev.AddPeer):
            raise WrongEventType(event.type, "peer to add")
        info = event.peer
        if event.origin is not None and info.origin == event.origin:
            raise RuleViolation("peer_is_self", f"{info.origin} is this log's own origin: a log does not peer with itself")
        key_id = parse_verifier_key(info.vkey)[1].hex()
        for peer in ctx.view.peers():
            if peer.name == info.name:
                continue  # the same peer, described anew
            if peer.origin == info.origin:
                raise RuleViolation("peer_exists", f"peer {peer.name} has origin {info.origin} already")
            if peer.key_id == key_id:
                raise RuleViolation("peer_key_in_use", f"peer {peer.name} has key ID {key_id} already")


class PeerKnown:
    def check(self, ctx: Context) -> None:
        name: str = ctx.event.name  # type: ignore[union-attr]
        row = ctx.view.get(PeerRow, name)
        if row is None or row.removed_seq is not None:
            raise RuleViolation("unknown_peer", f"no current peer {name}")


class PeerNamed:
    """A trace request names a current peer; an arrival also its origin (the log that signed the request)."""

    def check(self, ctx: Context) -> None:
        event = ctx.event
        if not isinstance(event, (ev.PeerTraceRequest, ev.PeerTraceArrival)):
            raise WrongEventType(event.type, "trace request between logs")
        row = ctx.view.get(PeerRow, event.peer)
        if row is None or row.removed_seq is not None:
            raise RuleViolation("unknown_peer", f"no current peer {event.peer}")
        if isinstance(event, ev.PeerTraceArrival) and row.origin != event.peer_origin:
            raise RuleViolation("peer_origin_mismatch", f"peer {event.peer} is {row.origin}, not {event.peer_origin}")


class PeerTraceOpen:
    """A decision (or an answer received) settles an open trace request of its side, once, after it was made."""

    def __init__(self, side: str) -> None:
        self.side = side

    def check(self, ctx: Context) -> None:
        event = ctx.event
        if not isinstance(event, (ev.PeerTraceDecision, ev.PeerTraceAnswer)):
            raise WrongEventType(event.type, "decision on a trace request between logs")
        target = event.arrival_seq if isinstance(event, ev.PeerTraceDecision) else event.request_seq
        row = ctx.view.get(PeerTraceRow, target)
        if row is None or row.side != self.side:
            what = "a trace request received from a peer" if self.side == "received" else "a trace request sent to a peer"
            raise RuleViolation("unknown_request", f"entry {target} is not {what}")
        if row.state != "open":
            raise RuleViolation("request_settled", f"trace request {target} is {row.state} already (entry {row.decided_seq})")
        if parse_time(event.time) < parse_time(row.requested_at):
            raise RuleViolation("answer_before_request", f"time {event.time} is before the request ({row.requested_at})")


def _current_peer(ctx: Context, origin: str) -> PeerRow:
    """The current peer whose log is `origin`."""
    row = next((peer for peer in ctx.view.peers() if peer.origin == origin and peer.removed_seq is None), None)
    if row is None:
        raise RuleViolation("unknown_peer", f"{origin} is not the log of a current peer")
    return row


_ANY_STATUS = ("active", "in_transit", "lost", "stolen", "seized", "forfeited", "destroyed", "deactivated")


class InspectedItem:
    """An inspection is of an item of this log, in any state, or (`log` set) of an item a current
    peer's log issued, which this log does not hold and only records having seen."""

    def check(self, ctx: Context) -> None:
        log = ev.event_field(ctx.event, "log")
        if log is None:
            ItemStatus(_ANY_STATUS).check(ctx)
            return
        _current_peer(ctx, log)
        if ctx.view.item(item_of(ctx.event)) is not None:
            raise RuleViolation("item_is_local", f"item {item_of(ctx.event)} is this log's: its inspection names no other log")


class HitFromPeer:
    """A hit notice names a current peer by its name here and by its log's origin, and both agree."""

    def check(self, ctx: Context) -> None:
        event = ctx.event
        if not isinstance(event, ev.HitNotice):
            raise WrongEventType(event.type, "peer's hit")
        peer = _current_peer(ctx, event.peer_origin)
        if peer.name != event.peer:
            raise RuleViolation("unknown_peer", f"{event.peer_origin} is peer {peer.name} here, not {event.peer}")


_ITEM_HOLDER = (ActorLicensed(), IsCustodian())

RULES: dict[str, AllOf] = {
    "register_party": AllOf(ActorRole(("admin", "permit_authority")), CanRegister()),
    "add_key": AllOf(KeyOwnerOrAdmin()),
    "revoke_key": AllOf(KeyOwnerOrAdmin(), RevocationOnlyEarlier()),
    "mark_firearm": AllOf(ActorRole(("manufacturer",)), ActorLicensed(), ItemIsNew(), SerialUnique()),
    "issue_permit": AllOf(ActorRole(("permit_authority",)), PermitIsNew(), PermitIssuable()),
    "cancel_permit": AllOf(ActorRole(("permit_authority",)), PermitIssuer()),
    "mark_specimen": AllOf(ActorRole(("permit_authority", "importer_exporter")), ActorLicensed(), ItemIsNew(), SerialUnique(), SpecimenPermit()),
    "transfer": AllOf(ItemStatus(("active",)), *_ITEM_HOLDER, NoPendingTransfer(), ReceiverAllowed(), InOrder()),
    "receive": AllOf(ActorLicensed(), PendingForActor(), InOrder()),
    "export": AllOf(ActorRole(("customs",)), InOwnCountry(), CrossingAllowed(), InOrder()),
    "import": AllOf(ActorRole(("customs",)), InOwnCountry(), CrossingAllowed(), InOrder()),
    "report_lost": AllOf(ItemStatus(("active", "in_transit")), ReporterAllowed(), InOrder()),
    "report_stolen": AllOf(ItemStatus(("active", "in_transit")), ReporterAllowed(), InOrder()),
    "recover": AllOf(ActorRole(tuple(ENFORCEMENT)), ItemStatus(("lost", "stolen")), InOrder()),
    "seize": AllOf(ActorRole(tuple(ENFORCEMENT)), InOwnCountry(), ItemStatus(("active", "in_transit", "lost", "stolen")), SeizedWhereItIs(), InOrder()),
    "release": AllOf(ItemStatus(("seized",)), SeizingAuthority(), InOrder()),
    "forfeit": AllOf(ItemStatus(("seized",)), SeizingAuthority(), InOrder()),
    "destroy": AllOf(DisposalAllowed(), InOrder()),
    "deactivate": AllOf(DisposalAllowed(), InOrder()),
    "inspect": AllOf(ActorRole(tuple(ENFORCEMENT)), InOwnCountry(), InspectedItem()),
    "hit_notice": AllOf(ActorRole(("federation",)), ItemStatus(_ANY_STATUS), HitFromPeer()),
    "correct": AllOf(CorrectionAllowed()),
    "void_inspection": AllOf(ActorRole(("customs", "police", "admin")), VoidAllowed()),
    "confirm_finding": AllOf(ActorRole(("investigator",)), QuestionOpen()),
    "dismiss_finding": AllOf(ActorRole(("investigator",)), QuestionOpen()),
    "trace_request": AllOf(ActorRole(("police", "customs", "investigator")), TraceAuthority()),
    "trace_answer": AllOf(AnswersRequest()),
    "add_peer": AllOf(ActorRole(("admin",)), PeerDistinct()),
    "remove_peer": AllOf(ActorRole(("admin",)), PeerKnown()),
    "peer_trace_request": AllOf(ActorRole(("police", "customs", "investigator")), PeerNamed()),
    "peer_trace_arrival": AllOf(ActorRole(("federation",)), PeerNamed()),
    "peer_trace_decision": AllOf(ActorRole(("investigator",)), PeerTraceOpen("received")),
    "peer_trace_answer": AllOf(ActorRole(("federation",)), PeerTraceOpen("sent")),
}


def check_event(event: ev.Event, seq: int, actor: Party, view: View) -> None:
    """Raise RuleViolation unless `event` may be appended as entry `seq` by `actor`."""
    RULES[event.type].check(Context(event=event, seq=seq, view=view, actor=actor))
