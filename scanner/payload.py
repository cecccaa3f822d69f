"""The QR payload: an upper-case URL any phone opens, carrying a signed marking claim.

    HTTPS://<HOST>/I/<ITEM-ID>/<FACTS>/<SIGNATURE>

Every character is in the QR alphanumeric set (0-9 A-Z space $ % * + - . / :), so the code
stays small. FACTS are the marking facts an agent compares with the item, joined by ``*``
(a character no serial, code or number may hold), opened by a kind letter and the code's
format version, and closed by the key ID of the log that issued the code:

    F3*<maker code>*<serial>*<country>*<year>*<log>                                   a firearm
    S3*<species code>*<serial>*<country of origin>*<year>*<permit>*<permit country>*<log>  a specimen

LOG is the issuing log's note key ID: the 8 hex digits of its C2SP verifier key
(``<origin>+<key ID>+<key>``), upper case. It tells any scanner which log to ask about the
item and which key that log's checkpoints must verify with (`scanner.logs.resolve_log`).

SIGNATURE is the marking party's EIP-191 signature over the RFC 8785 bytes of the claim
``{"version", "host", "log", "item", "kind", "facts"}`` (``log`` in lower case, as the verifier
key writes it), base32 without padding: the host the code sends a phone to and the log that
vouches for it are signed with the facts, so a code cannot be re-pointed to another site or log.
Serials and permit numbers may contain ``/``, written ``%2F`` so that the URL has exactly the
path segments of the grammar and no browser or server reads ``.`` or ``..`` in a serial as a
path step. A code is at most 311 characters, what QR version 10 holds: with a host as long as
TRACEMARK.LOCAL, every fact at its longest (a specimen: 271 characters without a slash) fits,
with up to 20 slashes among serial and permit (each costs 2 more); a firearm's one serial may
be slashes throughout.

What a border officer presents is one of three forms, told apart by `resolve_code`: this URL
(its facts and signature kept for `parse_payload` to verify), a bare item id, or a typed serial.

Codes of the earlier formats still parse and verify. Version 2 codes (``F2*``, ``S2*``) name no
log: their claim ``{"version", "host", "item", "kind", "facts"}`` signs the host, and they
belong to the log whose host they name. Version 1 codes (a bare kind letter, ``F*`` or ``S*``)
signed ``{"item", "kind", "facts"}`` only and wrote ``/`` as is; a scanner checks their unsigned
host against the log's all the same. Parsing is case-insensitive; anything else is refused
with ``MalformedCode``.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from ledger import Item, LocalAccount, canonical, recover, sign
from scanner.errors import MalformedCode

__all__ = [
    "ALPHANUMERIC",
    "SEPARATOR",
    "VERSION",
    "VERSIONS",
    "DEFAULT_HOST",
    "MalformedCode",
    "Facts",
    "FirearmFacts",
    "SpecimenFacts",
    "Payload",
    "log_id_of",
    "claim_bytes",
    "sign_claim",
    "encode_payload",
    "parse_payload",
    "recover_marker",
    "facts_of_item",
    "normal_host",
    "ResolvedCode",
    "resolve_code",
]

ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
"""The QR alphanumeric mode character set."""
SEPARATOR = "*"
SCHEME = "HTTPS://"
VERSION = 3
"""The code format issued: its claim signs the host and the issuing log, and a `/` in a fact is written %2F."""
VERSIONS = (1, 2, VERSION)
"""The code formats a scanner reads."""
DEFAULT_HOST = "TRACEMARK.LOCAL"
"""The host codes point to and bundles vouch for, unless the log's public host is given."""
SLASH = "%2F"
MAX_LENGTH = 311
"""The most alphanumeric characters a QR code of version 10 at error correction M holds."""
SIGNATURE_SIZE = 65
_SIGNATURE_CHARS = (SIGNATURE_SIZE * 8 + 4) // 5

_SERIAL = re.compile(r"[A-Z0-9][A-Z0-9./-]{0,39}")
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_HOST = re.compile(r"[A-Z0-9]([A-Z0-9.-]{0,252}[A-Z0-9])?(:[0-9]{1,5})?")
_MAKER = re.compile(r"[A-Z0-9]{2,8}")
_SPECIES = re.compile(r"[A-Z]{3,8}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_YEAR = re.compile(r"[12][0-9]{3}")
_BASE32 = re.compile(r"[A-Z2-7]+")
_LOG_ID = re.compile(r"[0-9A-F]{8}")


@dataclass(frozen=True)
class FirearmFacts:
    """UN Firearms Protocol marking facts an agent can read off the gun."""

    maker_code: str
    serial: str
    country: str
    year: int

    kind: Literal["firearm"] = "firearm"
    letter = "F"

    def fields(self) -> list[str]:
        return [self.maker_code, self.serial, self.country, str(self.year)]

    def claim(self) -> dict[str, Any]:
        return {"maker_code": self.maker_code, "serial": self.serial, "country": self.country, "year": self.year}


@dataclass(frozen=True)
class SpecimenFacts:
    """CITES tag facts plus the permit the specimen travels on (number and issuing country)."""

    species_code: str
    serial: str
    country_of_origin: str
    year: int
    permit: str
    permit_country: str

    kind: Literal["specimen"] = "specimen"
    letter = "S"

    def fields(self) -> list[str]:
        return [self.species_code, self.serial, self.country_of_origin, str(self.year), self.permit, self.permit_country]

    def claim(self) -> dict[str, Any]:
        return {
            "species_code": self.species_code,
            "serial": self.serial,
            "country_of_origin": self.country_of_origin,
            "year": self.year,
            "permit": self.permit,
            "permit_country": self.permit_country,
        }


Facts = FirearmFacts | SpecimenFacts


@dataclass(frozen=True)
class Payload:
    """A parsed code: where it points, which item, the claimed facts, the claim signature, the code's
    format and, from version 3, the key ID of the log that issued it (8 lower-case hex digits)."""

    host: str
    item: str
    facts: Facts
    signature: bytes
    version: int = VERSION
    log_id: str | None = None

    @property
    def text(self) -> str:
        return encode_payload(self.host, self.item, self.facts, self.signature, self.version, log_id=self.log_id)

    @property
    def signature_hex(self) -> str:
        return "0x" + self.signature.hex()


_CODE_URL = re.compile(rf"HTTPS?://(?:{_HOST.pattern})/I/(?P<item>{_ULID.pattern})(?:/(?P<rest>.*?))?/?")


@dataclass(frozen=True)
class ResolvedCode:
    """What a scanned or typed code names, before anything is verified."""

    raw: str
    uid: str | None = None  # from a code's URL or a bare item id
    serial: str | None = None  # a typed serial
    facts: str | None = None  # the code's facts segment, as printed
    signature: str | None = None  # the code's signature segment, as printed


def resolve_code(code: str) -> ResolvedCode:
    """Tell a code's URL, a bare item id and a typed serial apart; refuse invisible, non-ASCII or
    look-alike characters outright.

    Silently dropping a zero-width space or folding a Cyrillic letter would let a forged serial
    match a real one, so any such character makes the code malformed.
    """
    text = code.strip()
    for position, char in enumerate(text):
        if not (" " <= char <= "~"):
            name = unicodedata.name(char, "unnamed")
            raise MalformedCode(f"character U+{ord(char):04X} ({name}) at position {position} is not printable ASCII")
    if not text:
        raise MalformedCode("the code is empty")
    upper = text.upper()
    url = _CODE_URL.fullmatch(upper)
    if url is not None:
        facts, signature = _segments(url.group("rest"))
        return ResolvedCode(raw=code, uid=url.group("item"), facts=facts, signature=signature)
    if upper.startswith(("HTTP://", "HTTPS://")):
        raise MalformedCode("a URL but not a Tracemark item code (HTTPS://<HOST>/I/<ITEM-ID>/...)")
    if _ULID.fullmatch(upper):
        return ResolvedCode(raw=code, uid=upper, serial=upper)  # a serial may look like an id
    if _SERIAL.fullmatch(upper):
        return ResolvedCode(raw=code, serial=upper)
    raise MalformedCode(f"{text[:60]!r} is neither an item code, an item id nor a serial (A-Z 0-9 . / -, at most 40)")


def _segments(rest: str | None) -> tuple[str | None, str | None]:
    """The facts and the signature after the item id: the signature is the last segment."""
    if not rest:
        return None, None
    facts, sep, signature = rest.rpartition("/")
    return (facts, signature) if sep else (rest, None)


def normal_host(host: str) -> str:
    """`host` (a name and optional port) as codes spell it: upper case; MalformedCode if it is none."""
    upper = host.strip().upper() if isinstance(host, str) else ""
    if not _HOST.fullmatch(upper):
        raise MalformedCode(f"not a host name (letters, digits, '.', '-' and an optional :port): {str(host)[:60]!r}")
    return upper


def log_id_of(key_id: object) -> str:
    """A log's key ID as claims write it (8 lower-case hex digits); MalformedCode if it is none."""
    upper = key_id.strip().upper() if isinstance(key_id, str) else ""
    if not _LOG_ID.fullmatch(upper):
        raise MalformedCode(f"a log's key ID is 8 hex digits, got {str(key_id)[:20]!r}")
    return upper.lower()


def _issuer(version: int, log_id: str | None) -> str | None:
    """The claim's log for a code of format `version`: required from version 3, absent before."""
    if version not in VERSIONS:
        raise MalformedCode(f"no code format {version}: formats are {', '.join(map(str, VERSIONS))}")
    if version < 3:
        if log_id is not None:
            raise MalformedCode(f"a version {version} code names no log; version 3 codes do")
        return None
    if log_id is None:
        raise MalformedCode(f"a version {version} code names the key ID of the log that issues it")
    return log_id_of(log_id)


def claim_bytes(host: str, item: str, facts: Facts, version: int = VERSION, *, log_id: str | None = None) -> bytes:
    """The canonical (RFC 8785) bytes the marking party signs for a code of format `version`
    (from version 3, issued by the log whose key ID is `log_id`)."""
    issuer = _issuer(version, log_id)
    claim: dict[str, Any] = {"item": item, "kind": facts.kind, "facts": facts.claim()}
    if version >= 2:
        claim |= {"version": version, "host": normal_host(host)}
    if issuer is not None:
        claim["log"] = issuer
    return canonical(claim)


def sign_claim(account: LocalAccount, host: str, item: str, facts: Facts, version: int = VERSION, *, log_id: str | None = None) -> bytes:
    """The marking party's 65-byte EIP-191 signature over the claim of a code pointing to `host`."""
    return bytes.fromhex(sign(account, claim_bytes(host, item, facts, version, log_id=log_id)).removeprefix("0x"))


def encode_payload(host: str, item: str, facts: Facts, signature: bytes, version: int = VERSION, *, log_id: str | None = None) -> str:
    """The code's text; refuses anything that would not parse back to the same payload."""
    if len(signature) != SIGNATURE_SIZE:
        raise MalformedCode(f"a claim signature is {SIGNATURE_SIZE} bytes, got {len(signature)}")
    issuer = _issuer(version, log_id)
    encoded = base64.b32encode(signature).decode("ascii").rstrip("=")
    opening = facts.letter if version == 1 else f"{facts.letter}{version}"
    fields = facts.fields() if version == 1 else [field.replace("/", SLASH) for field in facts.fields()]
    if issuer is not None:
        fields.append(issuer.upper())
    text = f"{SCHEME}{normal_host(host)}/I/{item}/{SEPARATOR.join([opening, *fields])}/{encoded}"
    if len(text) > MAX_LENGTH:
        raise MalformedCode(f"the code would be {len(text)} characters, more than the {MAX_LENGTH} a QR code of version 10 holds")
    parsed = parse_payload(text)
    if parsed.item != item or parsed.facts != facts or parsed.version != version or parsed.log_id != issuer:
        raise MalformedCode(f"facts do not survive encoding: {facts!r}")
    return text


def parse_payload(text: str) -> Payload:
    """Parse a scanned code (any letter case); MalformedCode with a reason for anything else."""
    if not isinstance(text, str):
        raise MalformedCode(f"a code is text, got {type(text).__name__}")
    code = text.strip().upper()
    if not code.startswith(SCHEME):
        raise MalformedCode(f"a Tracemark code starts with {SCHEME}, got {code[:12]!r}")
    bad = sorted({c for c in code if c not in ALPHANUMERIC})
    if bad:
        raise MalformedCode(f"characters outside the QR alphanumeric set: {''.join(bad)!r}")
    host, sep, path = code[len(SCHEME):].partition("/I/")
    if not sep:
        raise MalformedCode("no /I/ path after the host")
    if not _HOST.fullmatch(host):
        raise MalformedCode(f"not a host name: {host!r}")
    item, sep, rest = path.partition("/")
    if not sep or not _ULID.fullmatch(item):
        raise MalformedCode(f"not an item id (an upper-case ULID): {item!r}")
    facts_text, sep, encoded = rest.rpartition("/")
    if not sep:
        raise MalformedCode("no signature after the facts")
    signature = _decode_signature(encoded)
    version, facts, log_id = _parse_facts(facts_text)
    return Payload(host=host, item=item, facts=facts, signature=signature, version=version, log_id=log_id)


def _decode_signature(encoded: str) -> bytes:
    if len(encoded) != _SIGNATURE_CHARS or not _BASE32.fullmatch(encoded):
        raise MalformedCode(f"the signature is {_SIGNATURE_CHARS} base32 characters, got {len(encoded)}: {encoded[:20]!r}")
    try:
        raw = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    except binascii.Error as exc:
        raise MalformedCode(f"the signature is not base32: {exc}") from exc
    if base64.b32encode(raw).decode("ascii").rstrip("=") != encoded:
        raise MalformedCode("the signature is not canonical base32")
    return raw


def _field(value: str, pattern: re.Pattern[str], name: str) -> str:
    if not pattern.fullmatch(value):
        raise MalformedCode(f"{name} {value!r} does not match {pattern.pattern}")
    return value


def _parse_facts(text: str) -> tuple[int, Facts, str | None]:
    """The code's format version, its facts and its log's key ID (version 3: the last field); from
    version 2 a code writes each `/` of a fact as %2F."""
    opening, *fields = text.split(SEPARATOR)
    letter, version = opening[:1], opening[1:]
    if version not in ("", *(str(n) for n in VERSIONS[1:])):
        raise MalformedCode(f"facts open with F or S and the format version ({', '.join(map(str, VERSIONS[1:]))}), got {opening[:8]!r}")
    if version:
        if "/" in text:
            raise MalformedCode(f"a version {version} code writes '/' in its facts as {SLASH}")
        fields = [field.replace(SLASH, "/") for field in fields]
    log_id = None
    if version == "3":
        if not fields:
            raise MalformedCode("a version 3 code's facts end with the key ID of the log that issued it")
        log_id = log_id_of(_field(fields.pop(), _LOG_ID, "log key ID"))
    return int(version or 1), _facts_of(letter, fields), log_id


def _facts_of(letter: str, fields: list[str]) -> Facts:
    if letter == FirearmFacts.letter:
        if len(fields) != 4:
            raise MalformedCode(f"firearm facts are maker code, serial, country, year: got {len(fields)} fields")
        maker, serial, country, year = fields
        return FirearmFacts(
            maker_code=_field(maker, _MAKER, "maker code"),
            serial=_field(serial, _SERIAL, "serial"),
            country=_field(country, _COUNTRY, "country"),
            year=int(_field(year, _YEAR, "year")),
        )
    if letter == SpecimenFacts.letter:
        if len(fields) != 6:
            raise MalformedCode(
                f"specimen facts are species code, serial, origin, year, permit, permit country: got {len(fields)} fields"
            )
        species, serial, origin, year, permit, permit_country = fields
        return SpecimenFacts(
            species_code=_field(species, _SPECIES, "species code"),
            serial=_field(serial, _SERIAL, "serial"),
            country_of_origin=_field(origin, _COUNTRY, "country of origin"),
            year=int(_field(year, _YEAR, "year")),
            permit=_field(permit, _SERIAL, "permit number"),
            permit_country=_field(permit_country, _COUNTRY, "permit country"),
        )
    raise MalformedCode(f"facts open with F (firearm) or S (specimen), got {letter!r}")


def recover_marker(payload: Payload) -> str:
    """The checksummed address that signed the code's claim; SignatureError if no key can have."""
    return recover(claim_bytes(payload.host, payload.item, payload.facts, payload.version, log_id=payload.log_id), payload.signature_hex)


def facts_of_item(item: Item, permit_country: str | None = None) -> Facts:
    """The code facts of a marked item as the log knows them (specimens need their permit's country)."""
    facts = item.facts
    if item.kind == "firearm":
        return FirearmFacts(maker_code=facts["maker_code"], serial=facts["serial"], country=facts["country"], year=facts["year"])
    if item.permit_number is None or permit_country is None:
        raise MalformedCode(f"specimen {item.uid} needs its permit number and issuing country for a code")
    return SpecimenFacts(
        species_code=facts["species_code"],
        serial=facts["serial"],
        country_of_origin=facts["country_of_origin"],
        year=facts["year"],
        permit=item.permit_number,
        permit_country=permit_country,
    )
