"""ledger.log.policy: the tlog-policy file format, its refusals (each naming its line), and quorums judged
on cosigned checkpoints."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, LogKey, sign_checkpoint
from ledger.log.cosignature import ED25519, ML_DSA_44, CosignerKey
from ledger.log.policy import Policy, PolicyError, QuorumNotMet

ORIGIN = "log.example/ledger"
CHECKPOINT = Checkpoint(ORIGIN, 5, merkle.leaf_hash(b"root"))


@dataclass
class Keys:
    log: LogKey
    x: list[CosignerKey]
    y: list[CosignerKey]

    def note(self, *cosigners: CosignerKey, checkpoint: Checkpoint = CHECKPOINT, log: LogKey | None = None) -> str:
        return sign_checkpoint(checkpoint, log or self.log) + "".join(c.cosign(checkpoint) for c in cosigners)


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(LogKey.generate(ORIGIN),
                [CosignerKey.generate(f"x{i}.example", ML_DSA_44 if i == 0 else ED25519) for i in range(3)],
                [CosignerKey.generate(f"y{i}.example", ED25519) for i in range(3)])


def two_level(keys: Keys) -> str:
    """The spec's example policy, with real keys."""
    x = "".join(f"witness X{i + 1} {k.vkey}\n" for i, k in enumerate(keys.x))
    y = "".join(f"witness Y{i + 1} {k.vkey}\n" for i, k in enumerate(keys.y))
    return (f"log {keys.log.verifier_key}\n\n{x}group X-witnesses 2 X1 X2 X3\n\n{y}group Y-witnesses any Y1 Y2 Y3\n\n"
            "group X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n")


def test_the_spec_example_needs_two_x_and_one_y(keys: Keys) -> None:
    policy = Policy.parse(two_level(keys))
    assert policy.groups["X-witnesses"].threshold == 2 and policy.groups["Y-witnesses"].threshold == 1
    assert policy.groups["X-and-Y"].threshold == 2
    held = policy.evaluate(keys.note(keys.x[0], keys.x[2], keys.y[1]))
    assert held.holds and sorted(held.cosigned) == ["X1", "X3", "Y2"]
    assert held.require() is held

    short = policy.evaluate(keys.note(keys.x[0], keys.y[0], keys.y[1]))
    assert not short.holds
    assert short.failed == ("X-and-Y", "X-witnesses")
    with pytest.raises(QuorumNotMet) as refused:
        short.require()
    assert refused.value.group == "X-and-Y"
    assert "group X-witnesses needs 2 of X1, X2, X3, has 1 (missing X2, X3)" in str(refused.value)


def test_comments_blank_lines_tabs_and_urls(keys: Keys) -> None:
    text = (f"  # trusted\n\t\n log\t{keys.log.verifier_key}  https://log.example/\n"
            f"witness W {keys.y[0].vkey} https://w.example/witness \t\n  quorum\tW  \n")
    policy = Policy.parse(text)
    assert policy.logs[0].url == "https://log.example/" and policy.witnesses["W"].url == "https://w.example/witness"
    assert policy.evaluate(keys.note(keys.y[0])).holds
    assert not policy.evaluate(keys.note(keys.y[1])).holds


def test_quorum_none_needs_no_cosignature_and_no_witness(keys: Keys) -> None:
    policy = Policy.parse(f"log {keys.log.verifier_key}\nquorum none\n")
    assert policy.evaluate(keys.note()).holds


def test_the_log_key_name_must_be_the_origin(keys: Keys) -> None:
    """MUST: a log's key name corresponds to its origin line; a checkpoint of another origin is not its."""
    other = LogKey.generate("elsewhere.example/log")
    policy = Policy.parse(f"log {other.verifier_key}\nquorum none\n")
    forged = sign_checkpoint(CHECKPOINT, other)  # origin log.example/ledger, signed by a key named elsewhere
    with pytest.raises(PolicyError, match="origin 'log.example/ledger' is not a log of the policy"):
        policy.evaluate(forged)


def test_a_checkpoint_signed_by_no_listed_log_is_refused(keys: Keys) -> None:
    impostor = LogKey.generate(ORIGIN)
    policy = Policy.parse(two_level(keys))
    with pytest.raises(PolicyError, match="does not verify"):
        policy.evaluate(keys.note(*keys.x, *keys.y, log=impostor))


def test_without_log_lines_the_application_names_the_log(keys: Keys) -> None:
    policy = Policy.parse(f"witness W {keys.x[1].vkey}\nquorum W\n")
    assert policy.evaluate(keys.note(keys.x[1]), keys.log.verifier_key).holds
    with pytest.raises(PolicyError, match="lists no log"):
        policy.evaluate(keys.note(keys.x[1]))


def test_a_bad_cosignature_by_a_known_witness_refuses_the_note(keys: Keys) -> None:
    policy = Policy.parse(two_level(keys))
    other = Checkpoint(ORIGIN, 5, merkle.leaf_hash(b"another root"))
    note = keys.note(keys.x[0], keys.y[0]) + keys.x[1].cosign(other)
    with pytest.raises(PolicyError, match="x1.example"):
        policy.evaluate(note)


def test_unknown_cosigners_are_ignored(keys: Keys) -> None:
    stranger = CosignerKey.generate("x0.example", ED25519)  # the name of a known witness, another key
    policy = Policy.parse(f"log {keys.log.verifier_key}\nwitness X {keys.x[0].vkey}\nquorum X\n")
    evaluation = policy.evaluate(keys.note(stranger, keys.y[0]))
    assert not evaluation.holds and evaluation.cosigned == {}


def test_names_are_opaque_octets(keys: Keys) -> None:
    """K (0x4B) and the Kelvin sign (0xE2 0x84 0xAA) are two names; non-ASCII octets are allowed."""
    text = (f"log {keys.log.verifier_key}\nwitness K {keys.x[1].vkey}\n".encode()
            + b"witness \xe2\x84\xaa " + keys.x[2].vkey.encode() + b"\nwitness \xff " + keys.y[0].vkey.encode()
            + b"\ngroup g all K \xe2\x84\xaa \xff\nquorum g\n")
    policy = Policy.parse(text)
    assert len(policy.witnesses) == 3
    assert policy.evaluate(keys.note(keys.x[1], keys.x[2], keys.y[0])).holds


@pytest.mark.parametrize(("lines", "line", "says"), [
    (["quorum none", "quorum none"], 2, "a second quorum line"),
    (["witness W {x0}", "quorum V"], 2, "quorum 'V' is not 'none' or a witness or group defined on an earlier line"),
    (["quorum W", "witness W {x0}"], 1, "quorum 'W' is not"),
    (["group G any W", "witness W {x0}", "quorum G"], 1, "'W' is not a witness or group defined on an earlier line"),
    (["witness W {x0}", "group G any W none", "quorum G"], 2, "'none' cannot be a group member"),
    (["witness none {x0}", "quorum none"], 1, "'none' is predefined"),
    (["witness W {x0}", "group W any W", "quorum W"], 2, "already defined"),
    (["witness W {x0}", "witness W {x1}", "quorum W"], 2, "already defined"),
    (["witness W {x0}", "witness V {x0}", "quorum W"], 2, "repeats the public key"),
    (["log {log}", "log {log_renamed}", "quorum none"], 2, "repeats the public key of a log"),
    (["witness W {x0}", "witness V {x1}", "group G any W V W", "quorum G"], 3, "lists W more than once"),
    (["witness W {x0}", "group G any", "quorum G"], 2, "at least one member"),
    (["witness W {x0}", "witness V {x1}", "group G 3 W V", "quorum G"], 3, "1 <= k <= 2"),
    (["witness W {x0}", "group G 0 W", "quorum G"], 2, "1 <= k <= 1"),
    (["witness W {x0}", "group G -1 W", "quorum G"], 2, "got '-1'"),
    (["witness W {x0}", "group G one W", "quorum G"], 2, "got 'one'"),
    (["witness W {log}", "quorum W"], 1, "not a cosignature type"),
    (["log nonsense", "quorum none"], 1, "log key: verifier key must be"),
    (["witness W", "quorum W"], 1, "a witness line is"),
    (["witness W {x0} https://w extra", "quorum W"], 1, "a witness line is"),
    (["log", "quorum none"], 1, "a log line is"),
    (["quorum"], 1, "a quorum line is"),
    (["witnesses W {x0}", "quorum none"], 1, "unknown keyword 'witnesses'"),
    (["witness W {x0}"], None, "no quorum line"),
    (["quorum none\r"], 1, "control character 0x0d"),
    (["# a\x00comment", "quorum none"], 1, "control character 0x00"),
])
def test_malformed_policies_are_refused_naming_the_line(keys: Keys, lines: list[str], line: int | None, says: str) -> None:
    renamed = LogKey.from_private_bytes("renamed.example", keys.log.to_private_bytes())
    text = "\n".join(lines).format(x0=keys.x[0].vkey, x1=keys.x[1].vkey, log=keys.log.verifier_key,
                                   log_renamed=renamed.verifier_key) + "\n"
    with pytest.raises(PolicyError) as refused:
        Policy.parse(text)
    assert refused.value.line == line
    assert says in str(refused.value)
    if line is not None:
        assert str(refused.value).startswith(f"policy line {line}: ")


def test_thirty_two_of_each_are_supported(keys: Keys) -> None:
    logs = [LogKey.generate(f"log{i}.example") for i in range(32)]
    witnesses = [CosignerKey.generate(f"w{i}.example", ED25519) for i in range(32)]
    lines = [f"log {k.verifier_key}" for k in logs] + [f"witness w{i} {k.vkey}" for i, k in enumerate(witnesses)]
    lines += [f"group g{i} any w{i}" for i in range(31)] + ["group all32 32 " + " ".join(f"g{i}" for i in range(31)) + " w31"]
    policy = Policy.parse("\n".join([*lines, "quorum all32"]) + "\n")
    assert (len(policy.logs), len(policy.witnesses), len(policy.groups)) == (32, 32, 32)
    checkpoint = Checkpoint("log7.example", 1, merkle.leaf_hash(b"x"))
    note = sign_checkpoint(checkpoint, logs[7]) + "".join(w.cosign(checkpoint) for w in witnesses)
    assert policy.evaluate(note).holds
    assert policy.evaluate(sign_checkpoint(checkpoint, logs[7]) + "".join(w.cosign(checkpoint) for w in witnesses[1:])).failed == (
        "all32", "g0")


def test_describe_says_what_is_required(keys: Keys) -> None:
    described = Policy.parse(two_level(keys)).describe()
    assert described[0].startswith(f"log {ORIGIN} (")
    assert "group X-witnesses: 2 of X1, X2, X3" in described
    assert described[-1] == "quorum: X-and-Y"


@pytest.mark.parametrize("algorithm", [ED25519, ML_DSA_44])
def test_a_log_may_sign_with_a_cosignature_key(keys: Keys, algorithm: int) -> None:
    """tlog-checkpoint: logs SHOULD sign with an ML-DSA-44 cosignature, and MAY with Ed25519."""
    log = CosignerKey.generate(ORIGIN, algorithm)
    policy = Policy.parse(f"log {log.vkey}\nwitness W {keys.y[0].vkey}\nquorum W\n")
    note = f"{CHECKPOINT.body()}\n{log.cosign(CHECKPOINT)}{keys.y[0].cosign(CHECKPOINT)}"
    assert policy.evaluate(note).holds
    with pytest.raises(PolicyError, match="does not verify"):
        policy.evaluate(keys.note(keys.y[0]))  # signed by the signed-note key instead


def test_a_policy_written_as_text_reads_back_as_the_same_policy(keys: Keys) -> None:
    policy = Policy.parse(two_level(keys).replace(f"log {keys.log.verifier_key}", f"log {keys.log.verifier_key} https://log.example/"))
    again = Policy.parse(policy.text())
    assert again.text() == policy.text() and again.describe() == policy.describe()
    assert policy.text().splitlines()[0] == f"log {keys.log.verifier_key} https://log.example/"
    note = keys.note(keys.x[0], keys.x[2], keys.y[1])
    assert sorted(again.evaluate(note).cosigned) == sorted(policy.evaluate(note).cosigned) == ["X1", "X3", "Y2"]


def test_for_log_keeps_the_policys_log_line_else_judges_the_given_key_by_its_quorum(keys: Keys) -> None:
    policy = Policy.parse(two_level(keys))
    assert policy.for_log(ORIGIN, "ignored") == (policy, None)
    other = LogKey.generate("other.example/log")
    judged, vkey = policy.for_log(other.name, other.verifier_key)
    assert vkey == other.verifier_key and judged.logs == () and judged.quorum == "X-and-Y"
    checkpoint = Checkpoint(other.name, 5, merkle.leaf_hash(b"root"))
    assert judged.evaluate(keys.note(keys.x[0], keys.x[1], keys.y[0], checkpoint=checkpoint, log=other), vkey).holds
