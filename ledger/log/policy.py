"""Verifier policies (C2SP ``tlog-policy``): which logs and witnesses a verifier trusts, and the quorum.

A policy file is lines of ``log <vkey> [<url>]``, ``witness <name> <vkey> [<url>]``,
``group <name> all|any|<k> <name>...`` and exactly one ``quorum <name>`` (``none`` needs no
cosignature), with comments and blank lines ignored. Names are opaque octet strings: the file is
read as bytes and decoded with ``surrogateescape``, so two names are equal only if their bytes are.

``Policy.evaluate`` takes a cosigned checkpoint note: the checkpoint must be signed by a log of
the policy whose key name is its origin, and the cosignatures by the policy's witnesses are
verified; ``Evaluation.holds`` says whether the quorum is met, and ``failed`` names the groups
that were not. Every refusal is a ``PolicyError`` naming the line or the group at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import CheckpointError, LedgerError
from ledger.log.checkpoint import Checkpoint, parse_checkpoint, parse_verifier_key
from ledger.log.cosignature import Cosignature, CosignerVerifier, verify_cosignatures
from ledger.witness.state import _is_cosigner_key, check_log_signature

__all__ = ["NONE", "LOG_KEY_ONLY", "PolicyError", "QuorumNotMet", "PolicyLog", "PolicyWitness", "Group", "Policy", "Evaluation",
           "load_policy"]

NONE = "none"
"""The predefined name a quorum may use to require no cosignature."""
MAX_NAMES = 1024
"""Logs, witnesses and groups each: far beyond the 32 the spec asks an implementation to support."""
_WHITESPACE = re.compile(r"[ \t]+")
_DECIMAL = re.compile(r"[0-9]+")
_ALLOWED = re.compile(r"[\t\n\x20-\x7e\x80-\xff]*")


class PolicyError(LedgerError):
    """A policy file is malformed (``line`` says where), or a checkpoint fails the policy."""

    def __init__(self, detail: str, line: int | None = None) -> None:
        super().__init__(detail if line is None else f"policy line {line}: {detail}")
        self.detail = detail
        self.line = line


class QuorumNotMet(PolicyError):
    """The checkpoint's verified cosignatures do not meet the quorum; ``group`` is the quorum's name (the
    message names every group under it that failed too)."""

    def __init__(self, group: str, detail: str) -> None:
        super().__init__(detail)
        self.group = group


@dataclass(frozen=True)
class PolicyLog:
    vkey: str
    origin: str
    """The vkey's key name: it must be the origin line of the checkpoints the log signs."""
    url: str | None = None


@dataclass(frozen=True)
class PolicyWitness:
    name: str
    verifier: CosignerVerifier
    url: str | None = None


@dataclass(frozen=True)
class Group:
    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class Evaluation:
    """A checkpoint judged by a policy: the log that signed it, who cosigned, and the quorum's fate."""

    checkpoint: Checkpoint
    log: PolicyLog | None
    cosigned: dict[str, Cosignature]
    """Policy witness name -> its verified cosignature."""
    failed: tuple[str, ...] = ()
    """The quorum and every group under it that did not witness the checkpoint, outermost first."""
    why: str = ""

    @property
    def holds(self) -> bool:
        return not self.failed

    def require(self) -> Evaluation:
        """This evaluation, or ``QuorumNotMet`` naming the group that failed."""
        if self.failed:
            raise QuorumNotMet(self.failed[0], self.why)
        return self


@dataclass(frozen=True)
class Policy:
    logs: tuple[PolicyLog, ...]
    witnesses: dict[str, PolicyWitness]
    groups: dict[str, Group]
    quorum: str

    @classmethod
    def parse(cls, data: bytes | str) -> Policy:
        """The policy in ``data``; anything malformed is a ``PolicyError`` naming its line."""
        raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        return _Parser().parse(raw)

    def log_for(self, origin: str) -> PolicyLog | None:
        """The first log whose key name is ``origin``, if the policy lists one."""
        return next((log for log in self.logs if log.origin == origin), None)

    def for_log(self, origin: str, vkey: str) -> tuple[Policy, str | None]:
        """The policy and log key that judge the checkpoints of log ``origin``, known to the application
        by ``vkey``: this policy when it lists that log (its ``log`` line rules), else ``vkey`` under
        this policy's witnesses and quorum."""
        if self.log_for(origin) is not None:
            return self, None
        return Policy((), self.witnesses, self.groups, self.quorum), vkey

    def text(self) -> str:
        """The policy in tlog-policy form, which ``parse`` reads back as the same policy."""
        lines = [" ".join(["log", log.vkey, *filter(None, [log.url])]) for log in self.logs]
        lines += [" ".join(["witness", w.name, w.verifier.vkey, *filter(None, [w.url])]) for w in self.witnesses.values()]
        lines += [" ".join(["group", g.name, str(g.threshold), *g.members]) for g in self.groups.values()]
        return "".join(f"{line}\n" for line in [*lines, f"quorum {self.quorum}"])

    def evaluate(self, note: str, log_vkey: str | None = None) -> Evaluation:
        """Judge a cosigned checkpoint note: its log signature must hold, then count its cosignatures.

        The log's key comes from the policy (a ``log`` line named for the checkpoint's origin), or
        from ``log_vkey`` when the policy lists no log: the application knows its log.
        """
        origin = _origin_of(note)
        log = self.log_for(origin)
        if log is None and (self.logs or log_vkey is None):
            raise PolicyError(f"the checkpoint's origin {origin!r} is not a log of the policy"
                              + ("" if self.logs else ", which lists no log"))
        try:
            check_log_signature(note, log.vkey if log else log_vkey)  # type: ignore[arg-type]
            checkpoint = parse_checkpoint(note)
            _, found = verify_cosignatures(note, [w.verifier for w in self.witnesses.values()])
        except CheckpointError as e:
            raise PolicyError(f"the checkpoint of {origin!r} does not verify: {e}") from e
        by_key = {(w.verifier.name, w.verifier.key_id): w.name for w in self.witnesses.values()}
        cosigned = {by_key[(c.name, c.key_id)]: c for c in found}
        failed: list[str] = []
        reasons: list[str] = []
        self._explain(self.quorum, set(cosigned), failed, reasons)
        why = f"quorum {self.quorum} not met: " + "; ".join(reasons) if failed else ""
        return Evaluation(checkpoint, log, cosigned, tuple(failed), why)

    def witnessed(self, name: str, cosigned: set[str]) -> bool:
        """Whether witness or group ``name`` witnessed a checkpoint cosigned by ``cosigned``."""
        if name == NONE:
            return True
        group = self.groups.get(name)
        if group is None:
            return name in cosigned
        return sum(self.witnessed(m, cosigned) for m in group.members) >= group.threshold

    def _explain(self, name: str, cosigned: set[str], failed: list[str], reasons: list[str]) -> None:
        """Append ``name`` and each group under it that did not witness to ``failed``, saying why in ``reasons``."""
        if self.witnessed(name, cosigned):
            return
        failed.append(name)
        group = self.groups.get(name)
        if group is None:
            reasons.append(f"witness {name} did not cosign")
            return
        missing = [m for m in group.members if not self.witnessed(m, cosigned)]
        reasons.append(f"group {name} needs {group.threshold} of {', '.join(group.members)},"
                       f" has {len(group.members) - len(missing)} (missing {', '.join(missing)})")
        for member in missing:
            if member in self.groups:
                self._explain(member, cosigned, failed, reasons)

    def describe(self) -> list[str]:
        """What the policy requires, one sentence a line, for people."""
        lines = [f"log {log.origin} ({log.vkey.split('+')[1]})" + (f" at {log.url}" if log.url else "") for log in self.logs]
        if not self.logs:
            lines.append("no log: the verifier is told its log's key another way")
        for name, w in self.witnesses.items():
            lines.append(f"witness {name}: {w.verifier.name}+{w.verifier.key_id.hex()}" + (f" at {w.url}" if w.url else ""))
        for group in self.groups.values():
            lines.append(f"group {group.name}: {group.threshold} of {', '.join(group.members)}")
        lines.append("quorum: none (no cosignature needed)" if self.quorum == NONE else f"quorum: {self.quorum}")
        return lines


LOG_KEY_ONLY = Policy((), {}, {}, NONE)
"""What a verifier without a policy checks: the log's signature (its key given), no cosignature."""


def load_policy(path: Path) -> Policy:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PolicyError(f"cannot read policy {path}: {e.strerror or e}") from e
    return Policy.parse(data)


def _origin_of(note: str) -> str:
    """The origin line of a note, unverified: it says which log key to check it with."""
    if not isinstance(note, str) or "\n" not in note:
        raise PolicyError("the checkpoint is not a signed note")
    return note.split("\n", 1)[0]


class _Parser:
    """One pass over the lines; a name is usable only after the line that defines it."""

    def __init__(self) -> None:
        self.logs: list[PolicyLog] = []
        self.witnesses: dict[str, PolicyWitness] = {}
        self.groups: dict[str, Group] = {}
        self.quorum: str | None = None
        self.log_keys: set[bytes] = set()
        self.witness_keys: set[bytes] = set()

    def parse(self, raw: bytes) -> Policy:
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not _ALLOWED.fullmatch(line.decode("latin-1")):
                bad = next(b for b in line if not (b == 9 or 0x20 <= b <= 0x7E or b >= 0x80))
                raise PolicyError(f"control character 0x{bad:02x}: only tab and newline are allowed", number)
            words = _WHITESPACE.split(line.decode("utf-8", "surrogateescape").strip(" \t"))
            if words == [""] or words[0].startswith("#"):
                continue
            handler = {"log": self._log, "witness": self._witness, "group": self._group, "quorum": self._quorum}.get(words[0])
            if handler is None:
                raise PolicyError(f"unknown keyword {words[0]!r}: a line is log, witness, group or quorum", number)
            handler(words[1:], number)
        if self.quorum is None:
            raise PolicyError("the policy has no quorum line: add one ('quorum none' to need no cosignature)")
        return Policy(tuple(self.logs), self.witnesses, self.groups, self.quorum)

    def _log(self, args: list[str], number: int) -> None:
        if not 1 <= len(args) <= 2:
            raise PolicyError(f"a log line is 'log <vkey> [<url>]', got {len(args)} words after 'log'", number)
        try:
            origin, key = _log_key(args[0])
        except CheckpointError as e:
            raise PolicyError(f"log key: {e}", number) from e
        if key in self.log_keys:
            raise PolicyError(f"log {origin} repeats the public key of a log listed before", number)
        self.log_keys.add(key)
        _limit(self.logs, "logs", number)
        self.logs.append(PolicyLog(args[0], origin, args[1] if len(args) > 1 else None))

    def _witness(self, args: list[str], number: int) -> None:
        if not 2 <= len(args) <= 3:
            raise PolicyError(f"a witness line is 'witness <name> <vkey> [<url>]', got {len(args)} words after 'witness'",
                              number)
        name = self._new_name(args[0], number)
        try:
            verifier = CosignerVerifier.from_vkey(args[1])
        except CheckpointError as e:
            raise PolicyError(f"witness {name}'s key: {e}", number) from e
        if verifier.public_key in self.witness_keys:
            raise PolicyError(f"witness {name} repeats the public key of a witness listed before", number)
        self.witness_keys.add(verifier.public_key)
        _limit(self.witnesses, "witnesses", number)
        self.witnesses[name] = PolicyWitness(name, verifier, args[2] if len(args) > 2 else None)

    def _group(self, args: list[str], number: int) -> None:
        if len(args) < 3:
            raise PolicyError("a group line is 'group <name> all|any|<k> <name>...' with at least one member", number)
        name, k, members = self._new_name(args[0], number), args[1], args[2:]
        for member in members:
            if member == NONE:
                raise PolicyError(f"group {name}: 'none' cannot be a group member", number)
            if member not in self.witnesses and member not in self.groups:
                raise PolicyError(f"group {name}: {member!r} is not a witness or group defined on an earlier line", number)
        repeated = next((m for i, m in enumerate(members) if m in members[:i]), None)
        if repeated is not None:
            raise PolicyError(f"group {name} lists {repeated} more than once", number)
        if k == "all":
            threshold = len(members)
        elif k == "any":
            threshold = 1
        elif _DECIMAL.fullmatch(k) and 1 <= int(k) <= len(members):
            threshold = int(k)
        else:
            raise PolicyError(f"group {name}: threshold must be all, any or a decimal k with 1 <= k <= {len(members)},"
                              f" got {k!r}", number)
        _limit(self.groups, "groups", number)
        self.groups[name] = Group(name, threshold, tuple(members))

    def _quorum(self, args: list[str], number: int) -> None:
        if len(args) != 1:
            raise PolicyError(f"a quorum line is 'quorum <name>', got {len(args)} words after 'quorum'", number)
        if self.quorum is not None:
            raise PolicyError("a second quorum line: a policy has exactly one", number)
        name = args[0]
        if name != NONE and name not in self.witnesses and name not in self.groups:
            raise PolicyError(f"quorum {name!r} is not 'none' or a witness or group defined on an earlier line", number)
        self.quorum = name

    def _new_name(self, name: str, number: int) -> str:
        if name == NONE:
            raise PolicyError("'none' is predefined and cannot name a witness or group", number)
        if name in self.witnesses or name in self.groups:
            raise PolicyError(f"the name {name!r} is already defined (witnesses and groups share one namespace)", number)
        return name


def _log_key(vkey: str) -> tuple[str, bytes]:
    """The key name and public key of a log's vkey: a signed-note Ed25519 key (0x01) or, as
    tlog-checkpoint recommends logs sign, a cosignature key (0x04 Ed25519, 0x06 ML-DSA-44)."""
    if _is_cosigner_key(vkey):
        verifier = CosignerVerifier.from_vkey(vkey)
        return verifier.name, verifier.public_key
    origin, _, public = parse_verifier_key(vkey)
    return origin, public.public_bytes_raw()


def _limit(defined: object, what: str, number: int) -> None:
    if len(defined) >= MAX_NAMES:  # type: ignore[arg-type]
        raise PolicyError(f"more than {MAX_NAMES} {what}", number)
