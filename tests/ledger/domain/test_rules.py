"""The rules: every refusal names its rule and leaves the log and the current state untouched.

Each refusal case builds a small story on the demo parties, then hands back the envelope the
rules must refuse. The coverage test reads ledger/domain/rules.py and ledger/store/ledger.py so a new rule
cannot be added without a case here.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

import ledger.domain.review_rules
import ledger.domain.rules
import ledger.store.appender
from ledger.demo import DemoParty
from ledger.domain.personal import commit
from ledger.errors import EventInvalid, RuleViolation
from ledger.log.checkpoint import LogKey
from ledger.log.codec import format_time
from ledger.log.keys import new_account
from ledger.store.ledger import Ledger
from ledger.store.rebuild import rebuild, snapshot
from ledger.store.tables import PartyKey
from tests.conftest import NOW
from tests.support import World, signed_without_origin

Envelope = dict[str, Any]
CASES: list[tuple[str, str, Callable[[World], Envelope]]] = []


def refusal(rule: str) -> Callable[[Callable[[World], Envelope]], Callable[[World], Envelope]]:
    """Register a story whose final envelope the rules refuse with `rule`."""

    def register(story: Callable[[World], Envelope]) -> Callable[[World], Envelope]:
        CASES.append((rule, story.__name__, story))
        return story

    return register


def state(ledger: Ledger) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    with ledger.reading() as session:
        return ledger.size(), snapshot(session)


def new_party(w: World, pid: str, role: str, country: str, licence: tuple[int, int] | None = None) -> str:
    """Register an extra party; `licence` is its validity in days relative to NOW."""
    w.parties[pid] = DemoParty(pid, role, country, new_account(), w.ledger.origin)
    info: dict[str, Any] = {"id": pid, "name": pid, "role": role, "country": country, "addresses": [w.parties[pid].account.address]}
    if licence is not None:
        info |= {"licence_number": f"LIC-{pid}", "licence_valid_from": format_time(NOW + timedelta(days=licence[0])),
                 "licence_valid_until": format_time(NOW + timedelta(days=licence[1]))}
    w.act("registry", "register_party", party=info)
    return pid


def held_by_schmidt(w: World) -> str:
    uid = w.firearm()
    w.ship(uid, "it-beretta", "de-jagd-schmidt")
    return uid


def seized_by_be_police(w: World) -> str:
    uid = w.firearm()
    w.ship(uid, "it-beretta", "be-armurerie")
    w.act("be-police", "seize", item=uid, country="BE", place="Liege", reason="vehicle search")
    return uid


def exported_skin(w: World) -> tuple[str, str]:
    permit = w.issue_permit()
    uid = w.specimen(permit)
    w.export(uid, permit)
    return uid, permit


def uid() -> str:
    return str(ULID())


# ---------------------------------------------------------------- who acts


@refusal("actor_role")
def dealer_marks_a_firearm(w: World) -> Envelope:
    return w.envelope("de-jagd-schmidt", "mark_firearm", item=uid(), marking=w.marking())


@refusal("actor_role")
def dealer_issues_a_permit(w: World) -> Envelope:
    return w.envelope("de-jagd-schmidt", "issue_permit", permit=w.permit())


@refusal("actor_role")
def manufacturer_tags_a_specimen(w: World) -> Envelope:
    return w.envelope("it-beretta", "mark_specimen", item=uid(), permit=w.issue_permit(), line=1, tag=w.tag())


@refusal("actor_role")
def importer_not_named_on_the_permit_tags_a_specimen(w: World) -> Envelope:
    return w.envelope("de-leder", "mark_specimen", item=uid(), permit=w.issue_permit(), line=1, tag=w.tag())


@refusal("actor_role")
def dealer_seizes(w: World) -> Envelope:
    item = held_by_schmidt(w)
    return w.envelope("be-armurerie", "seize", item=item, country="BE", place="Liege", reason="suspicion")


@refusal("actor_role")
def investigator_seizes(w: World) -> Envelope:
    return w.envelope("investigator", "seize", item=w.firearm(), country="FR", place="Lyon", reason="suspicion")


@refusal("actor_role")
def dealer_recovers(w: World) -> Envelope:
    item = held_by_schmidt(w)
    w.act("de-jagd-schmidt", "report_lost", item=item, place="shop", details="stock count")
    return w.envelope("de-jagd-schmidt", "recover", item=item, place="shop", details="found it")


@refusal("actor_role")
def dealer_inspects(w: World) -> Envelope:
    return w.envelope("de-jagd-schmidt", "inspect", item=w.firearm(), country="DE", location="FRA", direction="import", verdict="VALID")


@refusal("actor_role")
def stranger_reports_a_theft(w: World) -> Envelope:
    return w.envelope("be-armurerie", "report_stolen", item=held_by_schmidt(w), place="Frankfurt", details="heard so")


@refusal("actor_role")
def exporter_sells_a_specimen_to_a_private_owner(w: World) -> Envelope:
    skin = w.specimen(w.issue_permit())
    commitment, salt = commit("Erika Muster", "Berg 2, Mainz")
    return w.envelope("ke-croc-ranch", "transfer", personal={"salt": salt, "name": "Erika Muster", "address": "Berg 2, Mainz"},
                      item=skin, owner_commitment=commitment, reference="SALE-1")


@refusal("actor_role")
def police_registers_a_party(w: World) -> Envelope:
    new = DemoParty("de-waffen-neu", "dealer", "DE", new_account(), w.ledger.origin)
    w.parties[new.id] = new
    return w.envelope("de-police", "register_party", party={"id": new.id, "name": "Neu", "role": "dealer", "country": "DE",
                                                             "addresses": [new.account.address]})


@refusal("actor_role")
def authority_registers_a_dealer_of_another_country(w: World) -> Envelope:
    return w.envelope("ke-kws", "register_party", party={"id": "de-neu", "name": "Neu", "role": "dealer", "country": "DE",
                                                          "addresses": [new_account().address]})


@refusal("actor_role")
def dealer_adds_a_key_to_a_manufacturer(w: World) -> Envelope:
    return w.envelope("de-jagd-schmidt", "add_key", party="it-beretta", address=new_account().address)


@refusal("actor_role")
def dealer_corrects_a_manufacturers_marking(w: World) -> Envelope:
    item = w.firearm()
    target = w.ledger.item(item).marked_seq
    return w.envelope("de-jagd-schmidt", "correct", target_seq=target, reason="wrong model", marking={"model": "X"})


@refusal("licence_invalid")
def manufacturer_marks_after_its_licence_expired(w: World) -> Envelope:
    maker = new_party(w, "it-armi-vecchie", "manufacturer", "IT", licence=(-400, -31))
    return w.envelope(maker, "mark_firearm", item=uid(), marking=w.marking() | {"serial": "OLD-1"})


@refusal("licence_invalid")
def manufacturer_marks_before_its_licence_starts(w: World) -> Envelope:
    maker = new_party(w, "it-armi-nuove", "manufacturer", "IT", licence=(10, 400))
    return w.envelope(maker, "mark_firearm", item=uid(), marking=w.marking())


@refusal("licence_invalid")
def manufacturer_without_a_licence_marks(w: World) -> Envelope:
    maker = new_party(w, "it-armi-senza", "manufacturer", "IT")
    return w.envelope(maker, "mark_firearm", item=uid(), marking=w.marking())


@refusal("licence_invalid")
def dealer_receives_after_its_licence_expired(w: World) -> Envelope:
    dealer = new_party(w, "de-kurz", "dealer", "DE", licence=(-400, -3))  # valid at the transfer, expired at the receipt
    item = uid()
    w.act("it-beretta", "mark_firearm", item=item, marking=w.marking(), at=NOW - timedelta(days=5))
    w.act("it-beretta", "transfer", item=item, to=dealer, reference="R-1", at=NOW - timedelta(days=4))
    return w.envelope(dealer, "receive", item=item, at=NOW - timedelta(days=2))


# ---------------------------------------------------------------- parties and keys


@refusal("party_exists")
def party_registered_twice(w: World) -> Envelope:
    return w.envelope("registry", "register_party", party={"id": "it-beretta", "name": "Beretta again", "role": "manufacturer",
                                                            "country": "IT", "addresses": [new_account().address]})


@refusal("key_in_use")
def new_party_with_another_partys_address(w: World) -> Envelope:
    taken = w.parties["it-beretta"].account.address
    return w.envelope("registry", "register_party", party={"id": "it-copy", "name": "Copy", "role": "manufacturer",
                                                            "country": "IT", "addresses": [taken]})


@refusal("key_in_use")
def key_added_that_belongs_to_another_party(w: World) -> Envelope:
    return w.envelope("registry", "add_key", party="at-glock", address=w.parties["it-beretta"].account.address)


@refusal("unknown_party")
def key_added_to_an_unknown_party(w: World) -> Envelope:
    return w.envelope("registry", "add_key", party="nobody", address=new_account().address)


@refusal("unknown_party")
def transfer_to_an_unknown_party(w: World) -> Envelope:
    return w.envelope("it-beretta", "transfer", item=w.firearm(), to="nobody", reference="R-1")


@refusal("unknown_party")
def permit_naming_an_unregistered_importer(w: World) -> Envelope:
    return w.envelope("ke-kws", "issue_permit", permit=w.permit(importer="de-nobody"))


@refusal("unknown_key")
def revoking_a_key_the_party_does_not_have(w: World) -> Envelope:
    return w.envelope("registry", "revoke_key", party="it-beretta", address=w.parties["at-glock"].account.address,
                      from_time=format_time(NOW - timedelta(days=1)), reason="mix-up")


@refusal("revocation_stands")
def party_postpones_the_admins_revocation_with_its_second_key(w: World) -> Envelope:
    first = w.parties["it-beretta"]
    second = replace(first, account=new_account())
    w.act("it-beretta", "add_key", party="it-beretta", address=second.account.address)
    w.act("registry", "revoke_key", party="it-beretta", address=first.account.address,
          from_time=format_time(w.clock - timedelta(days=1)), reason="reported stolen")
    return second.envelope("revoke_key", w.tick(), party="it-beretta", address=first.account.address,
                           from_time="2199-01-01T00:00:00Z", reason="found again")


@refusal("revocation_stands")
def admin_revokes_a_revoked_key_again_from_the_same_time(w: World) -> Envelope:
    revoked = dict(party="it-beretta", address=w.parties["it-beretta"].account.address,
                   from_time=format_time(w.clock), reason="reported stolen")
    w.act("registry", "revoke_key", **revoked)
    return w.envelope("registry", "revoke_key", **revoked | {"reason": "again"})


# ---------------------------------------------------------------- items


@refusal("unknown_item")
def transfer_of_an_item_never_marked(w: World) -> Envelope:
    return w.envelope("it-beretta", "transfer", item=uid(), to="de-jagd-schmidt", reference="R-1")


@refusal("item_exists")
def item_marked_twice(w: World) -> Envelope:
    item = w.firearm()
    return w.envelope("it-beretta", "mark_firearm", item=item, marking=w.marking())


@refusal("serial_not_unique")
def serial_reused_by_the_same_manufacturer(w: World) -> Envelope:
    w.firearm(serial="PX4-0001")
    return w.envelope("it-beretta", "mark_firearm", item=uid(), marking=w.marking(serial="PX4-0001"))


@refusal("serial_not_unique")
def tag_serial_reused_by_the_same_authority(w: World) -> Envelope:
    permit = w.issue_permit()
    w.act("ke-kws", "mark_specimen", item=uid(), permit=permit, line=1, tag=w.tag(serial="KE-CN-1"))
    return w.envelope("ke-kws", "mark_specimen", item=uid(), permit=permit, line=1, tag=w.tag(serial="KE-CN-1"))


@refusal("not_custodian")
def dealer_transfers_an_item_it_does_not_hold(w: World) -> Envelope:
    return w.envelope("de-jagd-schmidt", "transfer", item=w.firearm(), to="be-armurerie", reference="R-1")


@refusal("not_custodian")
def sender_transfers_again_while_the_item_is_on_its_way(w: World) -> Envelope:
    item = w.firearm()
    w.ship(item, "it-beretta", "de-jagd-schmidt")
    return w.envelope("it-beretta", "transfer", item=item, to="be-armurerie", reference="R-2")


@refusal("not_custodian")
def stranger_destroys_an_item(w: World) -> Envelope:
    return w.envelope("de-jagd-schmidt", "destroy", item=w.firearm(), method="melted", reason="why not")


@refusal("not_custodian")
def custodian_destroys_an_item_it_is_shipping(w: World) -> Envelope:
    item = w.firearm()
    w.act("it-beretta", "transfer", item=item, to="de-jagd-schmidt", reference="R-1")
    return w.envelope("it-beretta", "destroy", item=item, method="melted", reason="recall")


@refusal("self_transfer")
def transfer_to_oneself(w: World) -> Envelope:
    return w.envelope("it-beretta", "transfer", item=w.firearm(), to="it-beretta", reference="R-1")


@refusal("receiver_licence_invalid")
def transfer_to_a_dealer_whose_licence_expired(w: World) -> Envelope:
    dealer = new_party(w, "de-alt", "dealer", "DE", licence=(-400, -31))
    return w.envelope("it-beretta", "transfer", item=w.firearm(), to=dealer, reference="R-1")


@refusal("receiver_licence_invalid")
def transfer_to_an_unlicensed_dealer(w: World) -> Envelope:
    dealer = new_party(w, "de-ohne", "dealer", "DE")
    return w.envelope("it-beretta", "transfer", item=w.firearm(), to=dealer, reference="R-1")


@refusal("transfer_pending")
def second_transfer_before_receipt(w: World) -> Envelope:
    item = w.firearm()
    w.act("it-beretta", "transfer", item=item, to="de-jagd-schmidt", reference="R-1")
    return w.envelope("it-beretta", "transfer", item=item, to="be-armurerie", reference="R-2")


@refusal("no_pending_transfer")
def receive_without_a_transfer(w: World) -> Envelope:
    return w.envelope("de-jagd-schmidt", "receive", item=w.firearm())


@refusal("no_pending_transfer")
def receive_by_a_party_the_transfer_did_not_name(w: World) -> Envelope:
    item = w.firearm()
    w.act("it-beretta", "transfer", item=item, to="de-jagd-schmidt", reference="R-1")
    return w.envelope("be-armurerie", "receive", item=item)


@refusal("no_pending_transfer")
def receive_after_the_item_was_stolen_on_the_way(w: World) -> Envelope:
    item = w.firearm()
    w.act("it-beretta", "transfer", item=item, to="de-jagd-schmidt", reference="R-1")
    w.act("it-beretta", "report_stolen", item=item, place="A22 motorway", details="lorry robbed")
    return w.envelope("de-jagd-schmidt", "receive", item=item)


@refusal("item_status")
def transfer_while_in_transit(w: World) -> Envelope:
    skin, _ = exported_skin(w)
    return w.envelope("ke-croc-ranch", "transfer", item=skin, to="de-leder", reference="R-1")


@refusal("item_status")
def release_of_an_item_not_seized(w: World) -> Envelope:
    return w.envelope("be-police", "release", item=held_by_schmidt(w), reason="nothing to release")


@refusal("item_status")
def recover_of_an_item_never_lost(w: World) -> Envelope:
    return w.envelope("de-police", "recover", item=held_by_schmidt(w), place="Frankfurt", details="?")


@refusal("item_flagged")
def seize_of_a_destroyed_item(w: World) -> Envelope:
    item = w.firearm()
    w.act("it-beretta", "destroy", item=item, method="melted", reason="proof test failed")
    return w.envelope("de-police", "seize", item=item, country="DE", place="Berlin", reason="found")


@refusal("item_flagged")
def custodian_destroys_a_stolen_item(w: World) -> Envelope:
    item = held_by_schmidt(w)
    w.act("de-jagd-schmidt", "report_stolen", item=item, place="shop", details="burglary")
    return w.envelope("de-jagd-schmidt", "destroy", item=item, method="melted", reason="paperwork")


@refusal("not_seizing_authority")
def another_police_force_releases(w: World) -> Envelope:
    return w.envelope("de-police", "release", item=seized_by_be_police(w), reason="not theirs")


@refusal("not_seizing_authority")
def another_police_force_forfeits(w: World) -> Envelope:
    return w.envelope("de-police", "forfeit", item=seized_by_be_police(w), reason="not theirs")


@refusal("not_seizing_authority")
def customs_forfeits_what_police_seized(w: World) -> Envelope:
    return w.envelope("de-customs", "forfeit", item=seized_by_be_police(w), reason="not theirs")


@refusal("wrong_country")
def foreign_customs_seizes_naming_the_items_country(w: World) -> Envelope:
    return w.envelope("ke-customs", "seize", item=held_by_schmidt(w), country="DE", place="Frankfurt", reason="suspicion")


@refusal("wrong_country")
def foreign_customs_seizes_an_item_held_in_germany(w: World) -> Envelope:
    return w.envelope("ke-customs", "seize", item=held_by_schmidt(w), country="KE", place="JKIA", reason="suspicion")


@refusal("wrong_country")
def police_inspects_abroad(w: World) -> Envelope:
    return w.envelope("be-police", "inspect", item=held_by_schmidt(w), country="DE", location="Aachen", direction="inland",
                      verdict="VALID")


# ---------------------------------------------------------------- permits


@refusal("permit_exists")
def permit_issued_twice(w: World) -> Envelope:
    w.issue_permit()
    return w.envelope("ke-kws", "issue_permit", permit=w.permit())


@refusal("permit_country")
def authority_issues_for_another_country(w: World) -> Envelope:
    return w.envelope("de-bfn", "issue_permit", permit=w.permit())


@refusal("permit_country")
def export_authority_issues_an_import_permit(w: World) -> Envelope:
    return w.envelope("ke-kws", "issue_permit", permit=w.permit(kind="import"))


@refusal("permit_parties")
def exporter_not_in_the_export_country(w: World) -> Envelope:
    return w.envelope("ke-kws", "issue_permit", permit=w.permit(exporter="de-leder", importer="de-jagd-schmidt"))


@refusal("not_issuer")
def another_authority_cancels(w: World) -> Envelope:
    return w.envelope("de-bfn", "cancel_permit", permit=w.issue_permit(), reason="not theirs")


@refusal("permit_cancelled")
def permit_cancelled_twice(w: World) -> Envelope:
    permit = w.issue_permit()
    w.act("ke-kws", "cancel_permit", permit=permit, reason="fraud suspected")
    return w.envelope("ke-kws", "cancel_permit", permit=permit, reason="again")


@refusal("permit_cancelled")
def specimen_tagged_under_a_cancelled_permit(w: World) -> Envelope:
    permit = w.issue_permit()
    w.act("ke-kws", "cancel_permit", permit=permit, reason="fraud suspected")
    return w.envelope("ke-kws", "mark_specimen", item=uid(), permit=permit, line=1, tag=w.tag())


@refusal("permit_cancelled")
def export_under_a_cancelled_permit(w: World) -> Envelope:
    permit = w.issue_permit()
    skin = w.specimen(permit)
    w.act("ke-kws", "cancel_permit", permit=permit, reason="fraud suspected")
    return w.envelope("ke-customs", "export", item=skin, permit=permit, line=1, quantity="1", country="KE", location="JKIA")


@refusal("permit_not_yet_valid")
def specimen_tagged_before_the_permit_is_valid(w: World) -> Envelope:
    permit = w.issue_permit(valid_from=format_time(NOW + timedelta(days=1)))
    return w.envelope("ke-kws", "mark_specimen", item=uid(), permit=permit, line=1, tag=w.tag())


@refusal("permit_expired")
def export_after_the_permit_expired(w: World) -> Envelope:
    permit = w.permit(valid_until=format_time(NOW - timedelta(days=3)))
    w.act("ke-kws", "issue_permit", permit=permit, at=NOW - timedelta(days=5))
    skin = uid()
    w.act("ke-kws", "mark_specimen", item=skin, permit=permit["number"], line=1, tag=w.tag(), at=NOW - timedelta(days=4))
    return w.envelope("ke-customs", "export", item=skin, permit=permit["number"], line=1, quantity="1", country="KE",
                      location="JKIA", at=NOW - timedelta(days=2))


@refusal("permit_missing")
def specimen_tagged_under_no_permit(w: World) -> Envelope:
    return w.envelope("ke-kws", "mark_specimen", item=uid(), permit="KE-NONE-1", line=1, tag=w.tag())


@refusal("permit_line_missing")
def specimen_tagged_under_a_missing_line(w: World) -> Envelope:
    return w.envelope("ke-kws", "mark_specimen", item=uid(), permit=w.issue_permit(), line=2, tag=w.tag())


@refusal("species_mismatch")
def specimen_of_another_species(w: World) -> Envelope:
    return w.envelope("ke-kws", "mark_specimen", item=uid(), permit=w.issue_permit(), line=1,
                      tag=w.tag(species="Crocodylus porosus"))


@refusal("permit_regime")
def specimen_tagged_under_a_firearms_authorisation(w: World) -> Envelope:
    line = {"line": 1, "species": "Crocodylus niloticus", "quantity": "5", "unit": "pcs"}
    permit = w.issue_permit(kind="firearm_export", lines=[line])
    return w.envelope("ke-kws", "mark_specimen", item=uid(), permit=permit, line=1, tag=w.tag())


@refusal("permit_regime")
def firearm_exported_under_a_cites_permit(w: World) -> Envelope:
    item = w.firearm()
    permit = "IT-2026-CITES-1"
    w.act("ke-kws", "issue_permit", permit=w.permit(number=permit))
    w.ship(item, "it-beretta", "ke-croc-ranch")
    return w.envelope("ke-customs", "export", item=item, permit=permit, line=1, quantity="1", country="KE", location="JKIA")


@refusal("wrong_country")
def customs_endorses_in_another_country(w: World) -> Envelope:
    permit = w.issue_permit()
    skin = w.specimen(permit)
    return w.envelope("de-customs", "export", item=skin, permit=permit, line=1, quantity="1", country="KE", location="JKIA")


@refusal("route_country_mismatch")
def import_endorsed_in_the_export_country(w: World) -> Envelope:
    skin, permit = exported_skin(w)
    return w.envelope("ke-customs", "import", item=skin, permit=permit, line=1, quantity="1", country="KE", location="JKIA")


@refusal("permit_kind")
def export_under_an_import_permit(w: World) -> Envelope:
    permit = w.permit(number="DE-2026-IM-7", kind="import", issuing_country="DE")
    w.act("de-bfn", "issue_permit", permit=permit)
    skin = w.specimen(permit["number"], who="ke-croc-ranch")
    return w.envelope("ke-customs", "export", item=skin, permit=permit["number"], line=1, quantity="1", country="KE", location="JKIA")


@refusal("custody_mismatch")
def import_of_a_skin_never_exported(w: World) -> Envelope:
    permit = w.issue_permit()
    skin = w.specimen(permit)
    return w.envelope("de-customs", "import", item=skin, permit=permit, line=1, quantity="1", country="DE", location="FRA")


@refusal("custody_mismatch")
def export_of_a_skin_held_by_someone_else(w: World) -> Envelope:
    permit = w.issue_permit()
    skin = w.specimen(permit)
    w.act("ke-croc-ranch", "transfer", item=skin, to="de-leder", reference="R-1")
    return w.envelope("ke-customs", "export", item=skin, permit=permit, line=1, quantity="1", country="KE", location="JKIA")


@refusal("quantity_exhausted")
def export_beyond_the_permitted_quantity(w: World) -> Envelope:
    permit = w.issue_permit(quantity="2")
    skins = [w.specimen(permit) for _ in range(3)]
    w.export(skins[0], permit)
    w.export(skins[1], permit)
    return w.envelope("ke-customs", "export", item=skins[2], permit=permit, line=1, quantity="1", country="KE", location="JKIA")


@refusal("quantity_exhausted")
def import_endorsement_beyond_the_import_permit(w: World) -> Envelope:
    permit = w.permit(number="DE-2026-IM-8", kind="import", issuing_country="DE", quantity="1.5")
    w.act("de-bfn", "issue_permit", permit=permit)
    export = w.issue_permit(number="KE-2026-EX-9")
    skins = [w.specimen(export) for _ in range(2)]
    for skin in skins:
        w.export(skin, export)
    w.import_(skins[0], "DE-2026-IM-8", quantity="1")
    return w.envelope("de-customs", "import", item=skins[1], permit="DE-2026-IM-8", line=1, quantity="0.6", country="DE", location="FRA")


# ---------------------------------------------------------------- corrections and time


@refusal("unknown_entry")
def correction_of_an_entry_that_does_not_exist(w: World) -> Envelope:
    return w.envelope("registry", "correct", target_seq=10_000, reason="typo")


@refusal("unknown_entry")
def correction_of_itself(w: World) -> Envelope:
    return w.envelope("registry", "correct", target_seq=w.ledger.size(), reason="typo")


@refusal("not_a_marking")
def marking_correction_of_a_transfer(w: World) -> Envelope:
    item = w.firearm()
    receipt = w.act("it-beretta", "transfer", item=item, to="de-jagd-schmidt", reference="R-1")
    return w.envelope("it-beretta", "correct", target_seq=receipt.seq, reason="typo", marking={"model": "X"})


@refusal("serial_not_unique")
def correction_to_a_serial_already_used(w: World) -> Envelope:
    w.firearm(serial="PX4-0001")
    item = w.firearm(serial="PX4-0002")
    return w.envelope("it-beretta", "correct", target_seq=w.ledger.item(item).marked_seq, reason="typo",
                      marking={"serial": "PX4-0001"})


@refusal("serial_not_unique")
def marking_reuses_a_corrected_serial(w: World) -> Envelope:
    item = w.firearm(serial="PX4-0001")
    w.act("it-beretta", "correct", target_seq=w.ledger.item(item).marked_seq, reason="misread", marking={"serial": "PX4-0007"})
    return w.envelope("it-beretta", "mark_firearm", item=uid(), marking=w.marking(serial="PX4-0001"))


@refusal("item_flagged")
def maker_reserials_a_seized_pistol(w: World) -> Envelope:
    item = seized_by_be_police(w)
    return w.envelope("it-beretta", "correct", target_seq=w.ledger.item(item).marked_seq, reason="typo",
                      marking={"serial": "PX4-CLEAN-1"})


@refusal("item_flagged")
def admin_changes_the_model_of_a_stolen_pistol(w: World) -> Envelope:
    item = held_by_schmidt(w)
    w.act("de-jagd-schmidt", "report_stolen", item=item, place="shop", details="burglary")
    return w.envelope("registry", "correct", target_seq=w.ledger.item(item).marked_seq, reason="court order",
                      marking={"model": "92FS"})


@refusal("wrong_log")
def event_signed_for_another_log(w: World) -> Envelope:
    other = replace(w.parties["it-beretta"], origin="other.tracemark.local/log")
    return other.envelope("mark_firearm", w.tick(), item=uid(), marking=w.marking())


@refusal("wrong_log")
def event_naming_no_log(w: World) -> Envelope:
    event = {"type": "mark_firearm", "actor": "it-beretta", "time": format_time(w.tick()), "item": uid(), "marking": w.marking()}
    return signed_without_origin(w.parties["it-beretta"].account, event)


@refusal("time_in_future")
def event_dated_beyond_the_logs_clock(w: World) -> Envelope:
    return w.envelope("it-beretta", "mark_firearm", item=uid(), marking=w.marking(), at=NOW + timedelta(minutes=6))


@refusal("reporting_window_exceeded")
def event_dated_before_the_reporting_window(w: World) -> Envelope:
    return w.envelope("it-beretta", "mark_firearm", item=uid(), marking=w.marking(), at=NOW - timedelta(days=7, seconds=1))


@refusal("out_of_order")
def transfer_dated_before_the_items_last_event(w: World) -> Envelope:
    item = w.firearm()
    return w.envelope("it-beretta", "transfer", item=item, to="de-jagd-schmidt", reference="R-1",
                      at=w.clock - timedelta(seconds=1))


@refusal("out_of_order")
def seizure_dated_before_the_items_receipt(w: World) -> Envelope:
    item = held_by_schmidt(w)
    return w.envelope("de-police", "seize", item=item, country="DE", place="Offenbach", reason="check",
                      at=w.clock - timedelta(seconds=1))


# ---------------------------------------------------------------- trace requests between agencies


def trace_request(w: World, authority: str = "de-police", **at: Any) -> dict[str, Any]:
    return w.envelope("be-police", "trace_request", authority=authority, agency="Police Federale", case="LG-2026-1",
                      serial="PX4-DE-001", make="Beretta", country="BE", recovery_place="Liege",
                      recovery_date=format_time(NOW - timedelta(days=40)), **at)


@refusal("unknown_authority")
def trace_request_to_a_manufacturer(w: World) -> Envelope:
    return trace_request(w, authority="it-beretta")


@refusal("unknown_request")
def trace_answer_to_an_entry_that_is_no_request(w: World) -> Envelope:
    return w.envelope("de-police", "trace_answer", request_seq=0, answer_digest="ab" * 32, summary="nothing found")


@refusal("answer_before_request")
def trace_answer_dated_before_the_request(w: World) -> Envelope:
    receipt = w.ledger.append(trace_request(w))
    return w.envelope("de-police", "trace_answer", request_seq=receipt.seq, answer_digest="ab" * 32, summary="nothing found",
                      at=NOW - timedelta(days=2))


def scanned_at_frankfurt(w: World) -> tuple[str, int]:
    """A pistol held by a German dealer and scanned for export with no shipment declared: a question."""
    item = held_by_schmidt(w)
    return item, w.act("de-customs", "inspect", item=item, country="DE", location="FRA", direction="export", verdict="MALFORMED_CODE").seq


@refusal("actor_role")
def police_voids_a_customs_inspection(w: World) -> Envelope:
    item, inspected = scanned_at_frankfurt(w)
    return w.envelope("de-police", "void_inspection", item=item, inspection_seq=inspected, reason="not ours")


@refusal("not_an_inspection")
def customs_voids_a_transfer(w: World) -> Envelope:
    item = held_by_schmidt(w)
    return w.envelope("registry", "void_inspection", item=item, inspection_seq=w.ledger.item(item).marked_seq, reason="wrong entry")


@refusal("wrong_item")
def void_names_another_items_inspection(w: World) -> Envelope:
    _, inspected = scanned_at_frankfurt(w)
    return w.envelope("de-customs", "void_inspection", item=held_by_schmidt(w), inspection_seq=inspected, reason="wrong item")


@refusal("unknown_entry")
def void_names_a_later_entry(w: World) -> Envelope:
    item, _ = scanned_at_frankfurt(w)
    return w.envelope("de-customs", "void_inspection", item=item, inspection_seq=w.ledger.size() + 5, reason="not yet")


@refusal("already_voided")
def inspection_voided_twice(w: World) -> Envelope:
    item, inspected = scanned_at_frankfurt(w)
    w.act("de-customs", "void_inspection", item=item, inspection_seq=inspected, reason="test scan")
    return w.envelope("de-customs", "void_inspection", item=item, inspection_seq=inspected, reason="test scan again")


@refusal("actor_role")
def police_confirms_a_finding(w: World) -> Envelope:
    item, inspected = scanned_at_frankfurt(w)
    return w.envelope("de-police", "confirm_finding", item=item, question_seq=inspected, reason="looks bad")


@refusal("no_question")
def confirming_an_inspection_that_raised_nothing(w: World) -> Envelope:
    item = held_by_schmidt(w)
    scan = w.act("de-customs", "inspect", item=item, country="DE", location="FRA", direction="inland", verdict="VALID")
    return w.envelope("investigator", "confirm_finding", item=item, question_seq=scan.seq, reason="looks bad")


@refusal("question_settled")
def dismissing_a_confirmed_question(w: World) -> Envelope:
    item, inspected = scanned_at_frankfurt(w)
    w.act("investigator", "confirm_finding", item=item, question_seq=inspected, reason="smuggling")
    return w.envelope("investigator", "dismiss_finding", item=item, question_seq=inspected, reason="changed my mind")


def _peer(name: str, key: LogKey) -> dict[str, object]:
    return {"name": name, "origin": key.name, "vkey": key.verifier_key, "url": "https://peer.example", "country": "DE"}


@refusal("peer_is_self")
def peering_with_this_log(w: World) -> Envelope:
    return w.envelope("registry", "add_peer", peer=_peer("self", LogKey.generate(w.ledger.origin)))


@refusal("peer_exists")
def peering_with_a_peer_under_a_second_name(w: World) -> Envelope:
    key = LogKey.generate("registry.de.example/log")
    w.act("registry", "add_peer", peer=_peer("de", key))
    return w.envelope("registry", "add_peer", peer=_peer("germany", key))


@refusal("peer_key_in_use")
def peering_with_a_key_id_another_peer_has(w: World) -> Envelope:
    """Two logs whose key IDs (32 bits of a hash of name and key) collide: found among names by the birthday bound."""
    public = LogKey.from_private_bytes("any", bytes(32)).public_key
    seen: dict[bytes, str] = {}
    for n in range(1 << 22):
        name = f"log{n}.example/log"
        key_id = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
        if key_id in seen:
            break
        seen[key_id] = name
    w.act("registry", "add_peer", peer=_peer("a", LogKey.from_private_bytes(seen[key_id], bytes(32))))
    return w.envelope("registry", "add_peer", peer=_peer("b", LogKey.from_private_bytes(name, bytes(32))))


@refusal("unknown_peer")
def removing_a_peer_never_added(w: World) -> Envelope:
    return w.envelope("registry", "remove_peer", name="nobody", reason="typo")


def peer_request_arrived(w: World, origin: str = "registry.ke.example/log") -> tuple[DemoParty, Envelope]:
    """Kenya peered, this log's federation desk registered, and a Kenyan trace request's arrival (not appended)."""
    desk = w.parties["federation"] = DemoParty("federation", "federation", "BE", new_account(), w.ledger.origin)
    w.act("registry", "register_party", party={"id": "federation", "name": "desk", "role": "federation", "country": "BE",
                                               "addresses": [desk.account.address]})
    w.act("registry", "add_peer", peer=_peer("ke", LogKey.generate("registry.ke.example/log")))
    arrival = w.envelope("federation", "peer_trace_arrival", peer="ke", peer_origin=origin, peer_seq=7, requester="investigator",
                         item=held_by_schmidt(w), reason="recovered in Nairobi", deadline=format_time(w.clock + timedelta(days=1)))
    return desk, arrival


@refusal("peer_origin_mismatch")
def an_arrival_naming_another_origin_for_the_peer(w: World) -> Envelope:
    return peer_request_arrived(w, origin="registry.fr.example/log")[1]


@refusal("request_settled")
def refusing_a_peer_request_twice(w: World) -> Envelope:
    arrival = w.ledger.append(peer_request_arrived(w)[1]).seq
    w.act("investigator", "peer_trace_decision", arrival_seq=arrival, outcome="refused", reason="needs a court order")
    return w.envelope("investigator", "peer_trace_decision", arrival_seq=arrival, outcome="refused", reason="still no order")


@refusal("item_is_local")
def inspecting_this_logs_item_as_a_peers(w: World) -> Envelope:
    key = LogKey.generate("registry.ke.example/log")
    w.act("registry", "add_peer", peer=_peer("ke", key))
    return w.envelope("de-customs", "inspect", item=w.firearm(), country="DE", location="Frankfurt", direction="import",
                      verdict="VALID", log=key.name)


# ---------------------------------------------------------------- the tests


def _rules_in(module: object) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text())  # type: ignore[attr-defined]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "RuleViolation":
            names |= {c.value for c in ast.walk(node.args[0]) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return names


def test_every_rule_has_a_refusal_case() -> None:
    rules = _rules_in(ledger.domain.rules) | _rules_in(ledger.store.appender) | _rules_in(ledger.domain.review_rules)
    assert len(rules) > 30
    assert rules - {rule for rule, _, _ in CASES} == set()


@pytest.mark.parametrize(("rule", "story"), [(rule, story) for rule, _, story in CASES], ids=[name for _, name, _ in CASES])
def test_refusal_names_its_rule_and_changes_nothing(sqlite_ledger: Ledger, rule: str, story: Callable[[World], Envelope]) -> None:
    world = World(sqlite_ledger)
    envelope = story(world)
    before = state(sqlite_ledger)
    with pytest.raises(RuleViolation) as caught:
        sqlite_ledger.append(envelope)
    assert caught.value.rule == rule, caught.value
    assert state(sqlite_ledger) == before


@pytest.mark.parametrize("flag", ["lost", "stolen", "seized", "forfeited", "destroyed", "deactivated"])
def test_nothing_moves_while_flagged(sqlite_ledger: Ledger, flag: str) -> None:
    w = World(sqlite_ledger)
    item = held_by_schmidt(w)
    holder = "de-jagd-schmidt"
    if flag in ("lost", "stolen"):
        w.act(holder, f"report_{flag}", item=item, place="shop", details="stock count")
    elif flag in ("seized", "forfeited"):
        w.act("de-police", "seize", item=item, country="DE", place="Frankfurt", reason="check")
        if flag == "forfeited":
            w.act("de-police", "forfeit", item=item, reason="court order")
            holder = "de-police"
    else:
        w.act(holder, {"destroyed": "destroy", "deactivated": "deactivate"}[flag], item=item, method="melted", reason="end of life")
    assert sqlite_ledger.item(item).status == flag
    before = state(sqlite_ledger)
    with pytest.raises(RuleViolation) as caught:
        w.act(holder, "transfer", item=item, to="be-armurerie", reference="R-9")
    assert caught.value.rule == "item_flagged"
    assert state(sqlite_ledger) == before


def test_different_manufacturers_may_use_the_same_serial(sqlite_ledger: Ledger) -> None:
    w = World(sqlite_ledger)
    a, b = w.firearm("it-beretta", serial="A-100"), w.firearm("at-glock", serial="A-100")
    assert sqlite_ledger.item(a).serial == sqlite_ledger.item(b).serial == "A-100"


def test_correction_cannot_smuggle_an_invalid_serial(sqlite_ledger: Ledger) -> None:
    w = World(sqlite_ledger)
    item = w.firearm(serial="PX4-0001")
    before = state(sqlite_ledger)
    with pytest.raises(EventInvalid) as caught:
        w.act("it-beretta", "correct", target_seq=sqlite_ledger.item(item).marked_seq, reason="typo",
              marking={"serial": "PX4-000\u0406"})  # Cyrillic I
    assert caught.value.field == "marking.serial"
    assert state(sqlite_ledger) == before


def test_correction_of_a_marking_updates_the_item_but_not_history(sqlite_ledger: Ledger) -> None:
    w = World(sqlite_ledger)
    item = w.firearm(serial="PX4-0001")
    marked = sqlite_ledger.item(item).marked_seq
    original = sqlite_ledger.entries(marked, marked + 1)[0].event
    receipt = w.act("it-beretta", "correct", target_seq=marked, reason="serial misread", marking={"serial": "PX4-0007", "model": "92FS"})
    corrected = sqlite_ledger.item(item)
    assert (corrected.serial, corrected.facts["serial"], corrected.facts["model"]) == ("PX4-0007", "PX4-0007", "92FS")
    assert corrected.last_seq == receipt.seq
    assert sqlite_ledger.entries(marked, marked + 1)[0].event == original


def test_admin_may_correct_any_entry(sqlite_ledger: Ledger) -> None:
    w = World(sqlite_ledger)
    item = w.firearm()
    receipt = w.act("registry", "correct", target_seq=sqlite_ledger.item(item).marked_seq, reason="court order", marking={"year": 2024})
    assert sqlite_ledger.item(item).facts["year"] == 2024 and receipt.seq == sqlite_ledger.size() - 1


def test_a_firearms_whole_life(sqlite_ledger: Ledger) -> None:
    """Marked, sold through dealers, lost and found, seized and released, seized, forfeited, destroyed."""
    w = World(sqlite_ledger)
    item = w.firearm()
    ledger = sqlite_ledger

    def status() -> tuple[str, str | None, str | None]:
        row = ledger.item(item)
        return row.status, row.custodian, row.pending_to

    assert status() == ("active", "it-beretta", None)
    w.act("it-beretta", "transfer", item=item, to="de-jagd-schmidt", reference="IT-DE-1")
    assert status() == ("active", "it-beretta", "de-jagd-schmidt")
    w.act("de-jagd-schmidt", "receive", item=item)
    assert status() == ("active", "de-jagd-schmidt", None)
    assert ledger.item(item).country == "DE"
    w.act("de-jagd-schmidt", "report_lost", item=item, place="shop", details="stock count")
    assert status() == ("lost", "de-jagd-schmidt", None)
    w.act("de-police", "recover", item=item, place="Frankfurt", details="found in the back room")
    assert status() == ("active", "de-jagd-schmidt", None)
    w.ship(item, "de-jagd-schmidt", "be-armurerie")
    assert status() == ("active", "be-armurerie", None)
    w.act("be-police", "seize", item=item, country="BE", place="Liege", reason="paperwork check")
    assert status() == ("seized", "be-armurerie", None) and ledger.item(item).seized_by == "be-police"
    w.act("be-police", "release", item=item, reason="licence confirmed")
    assert status() == ("active", "be-armurerie", None) and ledger.item(item).seized_by is None
    w.act("be-police", "seize", item=item, country="BE", place="Liege", reason="sold without checks")
    w.act("be-police", "forfeit", item=item, reason="court order")
    assert status() == ("forfeited", "be-police", None)
    w.act("be-police", "inspect", item=item, country="BE", location="evidence store", direction="inland", verdict="FORFEITED")
    w.act("be-police", "destroy", item=item, method="cut and melted", reason="forfeited")
    assert status() == ("destroyed", "be-police", None)
    assert ledger.item(item).last_seq == ledger.size() - 1


def test_retail_sale_then_theft_and_seizure(sqlite_ledger: Ledger) -> None:
    w = World(sqlite_ledger)
    item = held_by_schmidt(w)
    commitment, salt = commit("Max Mustermann", "Hauptstrasse 1, Frankfurt")
    w.act("de-jagd-schmidt", "transfer", personal={"salt": salt, "name": "Max Mustermann", "address": "Hauptstrasse 1, Frankfurt"},
          item=item, owner_commitment=commitment, reference="WBK 4711")
    row = sqlite_ledger.item(item)
    assert (row.custodian, row.owner_commitment) == (None, commitment)
    w.act("de-police", "report_stolen", item=item, place="Frankfurt", details="burglary")
    w.act("be-police", "seize", item=item, country="BE", place="Liege", reason="vehicle search")
    row = sqlite_ledger.item(item)
    assert (row.status, row.seized_by, row.country) == ("seized", "be-police", "BE")


def test_cites_partial_shipments_deplete_the_permit_line(sqlite_ledger: Ledger) -> None:
    """Six skins tagged under a permit for five: shipments of 2 and 3 use it up, the sixth is refused."""
    w = World(sqlite_ledger)
    permit = w.issue_permit(quantity="5")
    skins = [w.specimen(permit) for _ in range(6)]
    assert {sqlite_ledger.item(s).custodian for s in skins} == {"ke-croc-ranch"}

    def endorsed() -> Decimal:
        with sqlite_ledger.reading() as session:
            return Decimal(snapshot(session)["permit_line"][0]["endorsed"])

    for skin in skins[:2]:
        w.export(skin, permit)
    for skin in skins[:2]:
        w.import_(skin, permit)
    assert endorsed() == 2
    assert [sqlite_ledger.item(s).custodian for s in skins[:2]] == ["de-leder"] * 2
    assert {sqlite_ledger.item(s).status for s in skins[:2]} == {"active"}
    for skin in skins[2:5]:
        w.export(skin, permit)
    assert endorsed() == 5
    assert {sqlite_ledger.item(s).status for s in skins[2:5]} == {"in_transit"}
    with pytest.raises(RuleViolation) as caught:
        w.export(skins[5], permit)
    assert caught.value.rule == "quantity_exhausted" and "0 pcs left" in caught.value.detail
    assert endorsed() == 5 and sqlite_ledger.item(skins[5]).status == "active"


def test_decimal_quantities_are_endorsed_exactly(sqlite_ledger: Ledger) -> None:
    w = World(sqlite_ledger)
    permit = w.issue_permit(quantity="2.5")
    skins = [w.specimen(permit) for _ in range(3)]
    w.export(skins[0], permit, quantity="1.25")
    w.export(skins[1], permit, quantity="1.25")
    with pytest.raises(RuleViolation, match="quantity_exhausted"):
        w.export(skins[2], permit, quantity="0.000001")
    assert sqlite_ledger.permit(permit).number == permit
    with sqlite_ledger.reading() as session:
        assert Decimal(snapshot(session)["permit_line"][0]["endorsed"]) == Decimal("2.5")


def test_key_rotation_by_the_party_itself(sqlite_ledger: Ledger) -> None:
    w = World(sqlite_ledger)
    fresh = new_account()
    w.act("it-beretta", "add_key", party="it-beretta", address=fresh.address)
    w.parties["it-beretta"].account = fresh
    assert sqlite_ledger.item(w.firearm()).marker == "it-beretta"


def test_a_revocation_may_move_earlier(sqlite_ledger: Ledger) -> None:
    w = World(sqlite_ledger)
    address = w.parties["it-beretta"].account.address
    w.act("registry", "revoke_key", party="it-beretta", address=address, from_time=format_time(w.clock), reason="reported stolen")
    earlier = format_time(w.clock - timedelta(days=3))
    w.act("registry", "revoke_key", party="it-beretta", address=address, from_time=earlier, reason="stolen before that")
    with sqlite_ledger.reading() as session:
        assert session.get(PartyKey, address).revoked_from == earlier


def test_a_flagged_items_description_may_still_be_corrected(sqlite_ledger: Ledger) -> None:
    w = World(sqlite_ledger)
    skin, _ = exported_skin(w)
    w.act("de-customs", "seize", item=skin, country="DE", place="Frankfurt cargo", reason="tag does not match the skin")
    w.act("ke-kws", "correct", target_seq=sqlite_ledger.item(skin).marked_seq, reason="measured again",
          marking={"description": "salted skin, belly width 31 cm"})
    assert sqlite_ledger.item(skin).facts["description"] == "salted skin, belly width 31 cm"


def test_serials_a_correction_replaced_stay_the_items_through_a_rebuild(ledger: Ledger) -> None:
    w = World(ledger)
    item = w.firearm(serial="PX4-0001")
    marked = ledger.item(item).marked_seq
    for serial in ("PX4-0007", "PX4-0001", "PX4-0009"):  # back to a former serial, then away from it again
        w.act("it-beretta", "correct", target_seq=marked, reason="misread", marking={"serial": serial})
    before = state(ledger)
    assert sorted((row["serial"], row["uid"]) for row in before[1]["former_serial"]) == [("PX4-0001", item), ("PX4-0007", item)]
    rebuild(ledger)
    assert state(ledger) == before
