"""Gas per anchored checkpoint, and per event when one checkpoint is anchored every 10,000 events.

`ledger.anchoring.contract` deploys LedgerAnchor on web3's in-process `EthereumTesterProvider` and anchors
checkpoints of growing size for one log; the figure is the gas the anchoring transactions used
(the first anchor of a log, which creates its storage, is reported apart from the steady state).

    python -m bench.gas [--quick]
"""

from __future__ import annotations

import statistics
from typing import Any

from eth_account import Account
from web3 import EthereumTesterProvider, Web3

from bench._common import ORIGIN, Row, cli, note
from ledger.anchoring.contract import AnchorClient, deploy, log_id_for
from ledger.log.merkle import leaf_hash

__all__ = ["run", "EVENTS_PER_CHECKPOINT"]

EVENTS_PER_CHECKPOINT = 10_000


def run(quick: bool = False) -> dict[str, Any]:
    """Gas used by `anchor` transactions: the first for a log, then the median of the rest."""
    anchors = 4 if quick else 20
    note(f"gas: {anchors} checkpoints anchored on EthereumTesterProvider")
    w3 = Web3(EthereumTesterProvider())
    owner = Account.create()
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": owner.address, "value": 10**18}))
    client = AnchorClient(w3, owner, deploy(w3, owner))
    log_id = log_id_for(ORIGIN)
    gas = [client.anchor(log_id, leaf_hash(n.to_bytes(8, "big")), (n + 1) * EVENTS_PER_CHECKPOINT).gas_used for n in range(anchors)]
    steady = statistics.median(gas[1:])
    return {
        "quick": quick, "anchors": anchors, "gas": gas, "first_anchor_gas": gas[0], "anchor_gas": steady,
        "rows": [
            Row("gas per anchored checkpoint", steady, "gas", target="reported"),
            Row("  first checkpoint of a log", gas[0], "gas", target="reported"),
            Row(f"gas per event (1 checkpoint / {EVENTS_PER_CHECKPOINT:,} events)", steady / EVENTS_PER_CHECKPOINT, "gas", target="reported"),
        ],
    }


if __name__ == "__main__":
    cli("gas", run)
