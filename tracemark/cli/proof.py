"""`tracemark proof UID --out FILE.tlog-proof` and `tracemark verify-proof FILE`: offline proofs (C2SP tlog-proof) and receipts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from tracemark.cli.common import DbOption, HomeOption, console, reported, settings_from
from tracemark.cli.log import PolicyOption
from tracemark.cli.policy import log_key_for, read_policy

if TYPE_CHECKING:
    from ledger import Policy

__all__ = ["register"]


def proof(
    uid: Annotated[str, typer.Argument(help="the item's id")],
    out: Annotated[Optional[Path], typer.Option("--out", help="the .tlog-proof file to write (default: <UID>.tlog-proof)")] = None,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Write the offline proof of an item's newest entry: the entry, its inclusion proof, the cosigned checkpoint."""
    from ledger import SUFFIX, item_proof, open_ledger

    made = item_proof(open_ledger(settings_from(db, home)), uid)
    target = out or Path(uid + SUFFIX)
    target.write_text(made.text())
    lines = made.note.split("\n")
    console.print(f"{target}: entry {made.index} of {lines[0]} in its checkpoint of size {lines[1]}", markup=False, highlight=False)


def verify_proof(
    file: Annotated[Path, typer.Argument(help="a .tlog-proof file, or a receipt (JSON) as POST /v1/events answers", dir_okay=False)],
    policy: PolicyOption = None,
    vkey: Annotated[Optional[str], typer.Option("--vkey", help="the log's verifier key, when the policy lists no log (default without a policy: <home>/log.pub)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="what the proof shows, as one JSON object")] = False,
    home: HomeOption = None,
) -> None:
    """Verify an offline proof or a receipt with no network: exit 0 if it holds, 2 with the reason if it is refused."""
    from ledger import LOG_KEY_ONLY, TlogProof, TlogProofError, verify_tlog_proof
    from scanner.proofs import proven_answer

    trust = read_policy(policy)
    log_vkey = log_key_for(trust, vkey, home)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise TlogProofError(f"cannot read {file}: {exc.strerror or exc}") from exc
    if data.lstrip()[:1] == b"{":
        _verify_receipts(data, trust or LOG_KEY_ONLY, log_vkey, as_json)
        return
    answer = proven_answer(verify_tlog_proof(TlogProof.parse(data), trust or LOG_KEY_ONLY, log_vkey))
    if as_json:
        typer.echo(json.dumps(answer))
        return
    console.print(f"VALID {answer['item']}: {answer['reasons'][0]['detail']}", markup=False, highlight=False)


def _verify_receipts(data: bytes, policy: Policy, log_vkey: str | None, as_json: bool) -> None:
    from ledger import ReceiptError, receipts_in, verify_receipt

    try:
        document = json.loads(data)
    except ValueError as exc:
        raise ReceiptError(f"the receipt is not JSON: {exc}") from exc
    for receipt in receipts_in(document):
        evaluation = verify_receipt(receipt, policy, log_vkey)
        checkpoint, cosigners = evaluation.checkpoint, sorted(evaluation.cosigned)
        if as_json:
            typer.echo(json.dumps({"verdict": "VALID", "seq": receipt["seq"], "leaf_hash": receipt["leaf_hash"],
                                   "checkpoint": {"origin": checkpoint.origin, "size": checkpoint.size}, "cosigned_by": cosigners}))
            continue
        console.print(f"VALID receipt of entry {receipt['seq']} in {checkpoint.origin} (size {checkpoint.size}), cosigned by "
                      f"{', '.join(cosigners) or 'no witness'}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add `proof` and `verify-proof` to the `tracemark` app."""
    app.command("proof")(reported(proof))
    app.command("verify-proof")(reported(verify_proof))
