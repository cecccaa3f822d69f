"""Issuing an item's QR code: the marking party signs the claim once, the code is kept to print.

The claim is signed with the same key that signed the marking event, so the code verifies
against the party keys in the log (or in a trust bundle) without trusting the stored row. It names
the issuing log by its key ID (the local log's: given, as `Settings.verifier_key()` yields it, or
the ledger's own log key's), so a scanner anywhere knows which log vouches for the item.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from sqlmodel import select

from ledger import (
    Item,
    Ledger,
    LocalAccount,
    Marking,
    NotFound,
    PartyKey,
    SignatureError,
    StoreError,
    format_time,
    load_keystore,
    normalise_address,
)
from scanner.logs import ledger_log_id
from scanner.payload import DEFAULT_HOST, Facts, FirearmFacts, encode_payload, facts_of_item, parse_payload, sign_claim
from scanner.render import Label

__all__ = ["DEFAULT_HOST", "local_log_id", "item_facts", "issue_marking", "marking_of", "issue_markings", "caption", "label_for", "issue_demo_labels", "demo_labels"]


def local_log_id(ledger: Ledger, log_id: str | None = None) -> str:
    """The key ID the local log's codes carry: `log_id` when given, else the ledger's log key's."""
    issuer = log_id or ledger_log_id(ledger)
    if issuer is None:
        raise StoreError("this ledger has no log key: give the log's key ID (from its verifier key) to issue codes")
    return issuer


def item_facts(ledger: Ledger, uid: str) -> Facts:
    """The code facts of item `uid` as the log records them."""
    item = ledger.item(uid)
    permit_country = ledger.permit(item.permit_number).issuing_country if item.permit_number else None
    return facts_of_item(item, permit_country)


def issue_marking(ledger: Ledger, uid: str, account: LocalAccount, host: str = DEFAULT_HOST, log_id: str | None = None) -> Marking:
    """Sign item `uid`'s claim, issued by the local log (`local_log_id`), with its marking party's key
    and keep the code (replacing an older one)."""
    item = ledger.item(uid)
    with ledger.reading() as session:
        key = session.get(PartyKey, normalise_address(account.address))
    if key is None or key.party_id != item.marker:
        raise SignatureError(f"{account.address} is not a key of {item.marker}, which marked {uid}", code="wrong_key")
    if key.revoked_from is not None:
        raise SignatureError(f"key {account.address} of {item.marker} is revoked from {key.revoked_from}", code="key_revoked")
    facts = item_facts(ledger, uid)
    issuer = local_log_id(ledger, log_id)
    text = encode_payload(host, uid, facts, sign_claim(account, host, uid, facts, log_id=issuer), log_id=issuer)
    with ledger.writing() as session:
        row = session.get(Marking, uid) or Marking(uid=uid, payload=text, signer=account.address, created_at="")
        row.payload, row.signer, row.created_at = text, account.address, format_time(ledger.clock())
        session.add(row)
    return row


def marking_of(ledger: Ledger, uid: str) -> Marking:
    """The kept code of item `uid`; NotFound if its marking party has not issued one."""
    with ledger.reading() as session:
        row = session.get(Marking, uid)
    if row is None:
        raise NotFound("marking", uid)
    return row


def issue_markings(
    ledger: Ledger, accounts: Mapping[str, LocalAccount], uids: Iterable[str] | None = None, host: str = DEFAULT_HOST,
    log_id: str | None = None,
) -> list[Marking]:
    """Issue codes for `uids` (default: every item without one) whose marking party is in `accounts`."""
    with ledger.reading() as session:
        if uids is None:
            have = set(session.exec(select(Marking.uid)))
            uids = [uid for uid in session.exec(select(Item.uid).order_by(Item.uid)) if uid not in have]
        markers = {uid: ledger.item(uid).marker for uid in uids}
    return [issue_marking(ledger, uid, accounts[marker], host, log_id) for uid, marker in markers.items() if marker in accounts]


def caption(facts: Facts) -> str:
    """The human-readable line under a code: what an agent compares with the item."""
    if isinstance(facts, FirearmFacts):
        return f"{facts.maker_code} {facts.serial} {facts.country} {facts.year}"
    return f"{facts.species_code} {facts.serial} {facts.country_of_origin} {facts.year}"


def label_for(ledger: Ledger, uid: str, keys_dir: Path, passphrase: str | None, host: str = DEFAULT_HOST,
              log_id: str | None = None) -> Label:
    """Item `uid`'s label; a code not issued yet is signed now with `<keys_dir>/<marker>.json`."""
    try:
        row = marking_of(ledger, uid)
    except NotFound:
        marker = ledger.item(uid).marker
        if passphrase is None:
            raise SignatureError(f"no code issued for {uid} yet: give the passphrase of {marker}'s keystore", code="keystore") from None
        row = issue_marking(ledger, uid, load_keystore(keys_dir / f"{marker}.json", passphrase), host, log_id)
    return Label(row.payload, caption(parse_payload(row.payload).facts))


def issue_demo_labels(ledger: Ledger, keys_dir: Path, passphrase: str, out: Path, log_id: str | None = None) -> Path:
    """Codes for every demo item, signed by the demo parties' keystores, on one printable sheet.

    `make run` calls it through `tracemark serve` so a newcomer has real codes to point the
    camera page at.
    """
    from scanner.render import label_sheet

    label_sheet(demo_labels(ledger, keys_dir, passphrase, log_id), out)
    return out


def demo_labels(ledger: Ledger, keys_dir: Path, passphrase: str, log_id: str | None = None) -> list[Label]:
    """A label for every item, its code issued now if need be; a demo story's item says what it went through."""
    from ledger import stories_path

    markers = {party_key.party_id for party_key in _party_keys(ledger)}
    accounts = {party: load_keystore(keys_dir / f"{party}.json", passphrase) for party in markers if (keys_dir / f"{party}.json").exists()}
    issue_markings(ledger, accounts, log_id=log_id)
    with ledger.reading() as session:
        uids = list(session.exec(select(Marking.uid).order_by(Marking.uid)))
    stories_file = stories_path(keys_dir)
    stories: dict[str, str] = json.loads(stories_file.read_text()) if stories_file.exists() else {}
    return [Label(marking_of(ledger, uid).payload, caption(item_facts(ledger, uid)), stories.get(uid, "")) for uid in uids]


def _party_keys(ledger: Ledger) -> list[PartyKey]:
    with ledger.reading() as session:
        markers = set(session.exec(select(Item.marker).distinct()))
        return [key for key in session.exec(select(PartyKey)) if key.party_id in markers]
