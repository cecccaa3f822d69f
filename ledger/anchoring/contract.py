"""Anchoring log checkpoints on Ethereum through the LedgerAnchor contract.

This is the only module of the ledger that imports web3. Nothing here runs at import time:
no provider, node connection or key is created until a caller asks for one, and when no RPC
URL is configured (`AnchorConfig.from_env()` returns None) anchoring is simply off.

The contract's ABI and bytecode come from the committed compiler artifact
(`contracts/LedgerAnchor.json`), never from a copy in this file. `AnchorClient.connect`
checks that the code at the anchor address is exactly the artifact's deployed bytecode
before anything the contract says is trusted.

Transactions are signed locally by an eth-account key (a Web3 Secret Storage keystore file),
as EIP-1559 transactions whose fees and chain id are read from the node. Contract reverts are
decoded from their custom-error selectors into typed `AnchorError` subclasses.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from eth_utils.crypto import keccak
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    TransactionNotFound,
    Web3RPCError,
)
from web3.logs import DISCARD
from web3.types import TxReceipt

from ledger.anchoring import results as anchor_types
from ledger.anchoring.results import (
    Anchor,
    AnchorConfigError,
    AnchorError,
    AnchorPending,
    AnchorReceipt,
    AnchorUnavailable,
    ArtifactError,
    ContractReverted,
    IndexOutOfRangeError,
    NoCheckpointError,
    NotLedgerAnchor,
    NotLogSubmitterError,
    NotOwnerError,
    NotSubmitterError,
    SizeDecreasedError,
    SubmitterChange,
    TransactionFailed,
)

# The error and record types live in anchor_types (no web3 there); this module re-exports them.
__all__ = [
    *anchor_types.__all__,
    "DEFAULT_ARTIFACT", "AnchorClient", "AnchorConfig", "Artifact", "deploy",
    "load_account", "load_artifact", "log_id_for", "open_web3",
]

_T = TypeVar("_T")


#: Where the compiled contract lives in a source checkout (`contracts/compile.js` writes it).
DEFAULT_ARTIFACT = Path(__file__).resolve().parents[2] / "contracts" / "LedgerAnchor.json"

HASH_SIZE = 32
MAX_SIZE = 2**64 - 1  # the contract stores sizes as uint64
# Gas limit = estimate * GAS_MARGIN_PERCENT / 100: room for state that changes between the
# estimate and inclusion (another submitter's anchor landing first, say).
GAS_MARGIN_PERCENT = 120
DEFAULT_RECEIPT_TIMEOUT = 120.0
DEFAULT_HTTP_TIMEOUT = 10.0


# --- errors (defined in ledger.anchoring.results) -------------------------------------------


_REVERT_CLASSES: dict[str, type[ContractReverted]] = {
    "NotOwner": NotOwnerError,
    "NotSubmitter": NotSubmitterError,
    "NotLogSubmitter": NotLogSubmitterError,
    "SizeDecreased": SizeDecreasedError,
    "IndexOutOfRange": IndexOutOfRangeError,
    "NoCheckpoint": NoCheckpointError,
}




# --- artifact ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Artifact:
    """The compiled LedgerAnchor contract, as written by `contracts/compile.js`."""

    abi: tuple[Mapping[str, Any], ...]
    bytecode: bytes
    deployed_bytecode: bytes
    compiler_version: str
    settings: Mapping[str, Any]
    path: Path

    def custom_errors(self) -> dict[bytes, tuple[str, list[str], list[str]]]:
        """Selector -> (error name, input names, input types) for every ABI custom error."""
        errors = {}
        for entry in self.abi:
            if entry.get("type") != "error":
                continue
            types = [i["type"] for i in entry["inputs"]]
            names = [i["name"] for i in entry["inputs"]]
            selector = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
            errors[selector] = (entry["name"], names, types)
        return errors


def load_artifact(path: str | os.PathLike[str] | None = None) -> Artifact:
    """Load the contract artifact from `path`, or from `DEFAULT_ARTIFACT` when None."""
    return _load_artifact(Path(path).resolve() if path is not None else DEFAULT_ARTIFACT)


@lru_cache(maxsize=8)
def _load_artifact(path: Path) -> Artifact:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ArtifactError(f"contract artifact not found: {path}") from e
    except (OSError, ValueError) as e:
        raise ArtifactError(f"contract artifact {path} cannot be read: {e}") from e
    try:
        artifact = Artifact(
            abi=tuple(data["abi"]),
            bytecode=bytes.fromhex(_strip_0x(data["bytecode"])),
            deployed_bytecode=bytes.fromhex(_strip_0x(data["deployedBytecode"])),
            compiler_version=data["compiler"]["version"],
            settings=data["settings"],
            path=path,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ArtifactError(f"contract artifact {path} is malformed: {e!r}") from e
    if data.get("contractName") != "LedgerAnchor":
        raise ArtifactError(
            f"contract artifact {path} holds {data.get('contractName')!r}, wanted 'LedgerAnchor'"
        )
    if not artifact.bytecode or not artifact.deployed_bytecode:
        raise ArtifactError(f"contract artifact {path} has empty bytecode")
    return artifact


def _strip_0x(text: str) -> str:
    return text[2:] if text.startswith("0x") else text


# --- configuration ----------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorConfig:
    """Where to anchor and with which key. Built explicitly, or from the environment."""

    rpc_url: str
    address: str | None = None
    keystore: Path | None = None
    passphrase: str | None = field(default=None, repr=False)

    ENV_RPC_URL = "TRACEMARK_RPC_URL"
    ENV_ADDRESS = "TRACEMARK_ANCHOR_ADDRESS"
    ENV_KEYSTORE = "TRACEMARK_ANCHOR_KEYSTORE"
    ENV_PASSPHRASE = "TRACEMARK_ANCHOR_PASSPHRASE"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AnchorConfig | None:
        """Read the TRACEMARK_* variables; None when no RPC URL is set (anchoring off)."""
        env = os.environ if environ is None else environ
        rpc_url = env.get(cls.ENV_RPC_URL, "").strip()
        if not rpc_url:
            return None
        keystore = env.get(cls.ENV_KEYSTORE, "").strip()
        return cls(
            rpc_url=rpc_url,
            address=env.get(cls.ENV_ADDRESS, "").strip() or None,
            keystore=Path(keystore) if keystore else None,
            passphrase=env.get(cls.ENV_PASSPHRASE),
        )


def open_web3(rpc_url: str, *, timeout: float = DEFAULT_HTTP_TIMEOUT) -> Web3:
    """A Web3 on an HTTP JSON-RPC node. No request is made until the first call.

    web3's own retries are turned off: a caller (the anchoring worker) owns the retry policy
    and a node that is down should fail fast, as `AnchorUnavailable`.
    """
    if not rpc_url.startswith(("http://", "https://")):
        raise AnchorConfigError(f"RPC URL must be http:// or https://, got {rpc_url!r}")
    provider = HTTPProvider(
        rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
    )
    return Web3(provider)


def load_account(keystore: str | os.PathLike[str], passphrase: str) -> LocalAccount:
    """Decrypt a Web3 Secret Storage keystore file into a local signing account."""
    path = Path(keystore)
    try:
        encrypted = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise AnchorConfigError(f"keystore {path} cannot be read: {e}") from e
    try:
        key = Account.decrypt(encrypted, passphrase)
    except (ValueError, TypeError, KeyError) as e:
        raise AnchorConfigError(f"keystore {path} cannot be decrypted: {e}") from e
    return cast(LocalAccount, Account.from_key(key))  # eth_account's combomethods are untyped


def log_id_for(origin: str) -> bytes:
    """The contract's id for a log: keccak256 of the UTF-8 checkpoint origin line."""
    if not origin or "\n" in origin:
        raise AnchorError(f"a log origin is one non-empty line, got {origin!r}")
    return bytes(keccak(text=origin))




def deploy(w3: Web3, account: LocalAccount, *, artifact: Artifact | None = None,
           receipt_timeout: float = DEFAULT_RECEIPT_TIMEOUT) -> str:
    """Deploy LedgerAnchor from `account` (which becomes owner and a submitter); its address."""
    art = artifact or load_artifact()
    factory = w3.eth.contract(abi=list(art.abi), bytecode=art.bytecode)
    with _node_errors(art):
        receipt = _send(w3, account, factory.constructor(), receipt_timeout)
    address = receipt["contractAddress"]
    if not address:
        raise TransactionFailed("deployment receipt names no contract address",
                                receipt["transactionHash"].to_0x_hex())
    return Web3.to_checksum_address(address)


class AnchorClient:
    """Anchors checkpoints in, and reads them back from, one deployed LedgerAnchor.

    Built from an explicit `Web3` and signing account (tests pass an in-process
    `EthereumTesterProvider`), or from configuration with `AnchorClient.connect`.
    """

    def __init__(self, w3: Web3, account: LocalAccount | None, address: str, *,
                 artifact: Artifact | None = None,
                 receipt_timeout: float = DEFAULT_RECEIPT_TIMEOUT) -> None:
        if not Web3.is_address(address):
            raise AnchorConfigError(f"anchor address is not an Ethereum address: {address!r}")
        self._w3 = w3
        self._account = account
        self._artifact = artifact or load_artifact()
        self._receipt_timeout = receipt_timeout
        self._contract: Contract = w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=list(self._artifact.abi)
        )

    @classmethod
    def connect(cls, config: AnchorConfig, *, artifact: Artifact | None = None,
                verify_code: bool = True, read_only: bool = False) -> AnchorClient:
        """A client for the configured node, contract and keystore; checks the contract code.

        A `read_only` client (for verifiers) needs no keystore and cannot send transactions.
        """
        if config.address is None:
            raise AnchorConfigError(f"{AnchorConfig.ENV_ADDRESS} is not set")
        account = None
        if not read_only:
            if config.keystore is None or config.passphrase is None:
                raise AnchorConfigError(
                    f"{AnchorConfig.ENV_KEYSTORE} and {AnchorConfig.ENV_PASSPHRASE} must both be set"
                )
            account = load_account(config.keystore, config.passphrase)
        client = cls(open_web3(config.rpc_url), account, config.address, artifact=artifact)
        if verify_code:
            client.verify_code()
        return client

    @property
    def address(self) -> str:
        return self._contract.address

    @property
    def account(self) -> str | None:
        return None if self._account is None else self._account.address

    @property
    def chain_id(self) -> int:
        """The chain id the node reports (recorded with every anchor)."""
        with self._node_errors():
            return self._w3.eth.chain_id

    def verify_code(self) -> None:
        """Raise `NotLedgerAnchor` unless the code at the address is the artifact's."""
        with self._node_errors():
            code = bytes(self._w3.eth.get_code(self._contract.address))
        if not code:
            raise NotLedgerAnchor(f"no contract at {self.address}")
        if code != self._artifact.deployed_bytecode:
            raise NotLedgerAnchor(
                f"code at {self.address} ({len(code)} bytes) is not LedgerAnchor as compiled "
                f"in {self._artifact.path.name} ({len(self._artifact.deployed_bytecode)} bytes)"
            )

    # writes

    def anchor(self, log_id: bytes, root: bytes, size: int) -> AnchorReceipt:
        """Anchor checkpoint (`root`, `size`) of log `log_id` and wait for it to be mined."""
        _check_hash("log_id", log_id)
        _check_hash("root", root)
        if not 0 <= size <= MAX_SIZE:
            raise AnchorError(f"size must be in [0, 2**64), got {size}")
        with self._node_errors():
            receipt = self._transact(self._contract.functions.anchor(log_id, root, size))
            return self._anchor_receipt(receipt)

    def add_submitter(self, address: str) -> str:
        """Authorise `address` to anchor (owner only); the transaction hash."""
        with self._node_errors():
            receipt = self._transact(
                self._contract.functions.addSubmitter(_account(address)))
        return receipt["transactionHash"].to_0x_hex()

    def remove_submitter(self, address: str) -> str:
        """Withdraw `address`'s authorisation (owner only); the transaction hash."""
        with self._node_errors():
            receipt = self._transact(
                self._contract.functions.removeSubmitter(_account(address)))
        return receipt["transactionHash"].to_0x_hex()

    def add_log_submitter(self, log_id: bytes, address: str) -> str:
        """Authorise `address` to anchor log `log_id` (the owner, or a submitter of that log).

        The owner naming a log's first submitter binds the log before its first anchor, so
        no other submitter can take its id. Returns the transaction hash.
        """
        _check_hash("log_id", log_id)
        with self._node_errors():
            receipt = self._transact(self._contract.functions.addLogSubmitter(
                log_id, _account(address)))
        return receipt["transactionHash"].to_0x_hex()

    def remove_log_submitter(self, log_id: bytes, address: str) -> str:
        """Withdraw `address`'s authorisation for log `log_id`; the transaction hash."""
        _check_hash("log_id", log_id)
        with self._node_errors():
            receipt = self._transact(self._contract.functions.removeLogSubmitter(
                log_id, _account(address)))
        return receipt["transactionHash"].to_0x_hex()

    def receipt(self, tx_hash: str) -> AnchorReceipt | None:
        """The receipt of an earlier `anchor` transaction (after `AnchorPending`), or None."""
        with self._node_errors():
            try:
                receipt = self._w3.eth.get_transaction_receipt(HexStr(tx_hash))
            except TransactionNotFound:
                return None
            if receipt["status"] != 1:
                raise TransactionFailed("transaction reverted", tx_hash)
            return self._anchor_receipt(receipt)

    # reads

    def owner(self) -> str:
        with self._node_errors():
            return _returned(self._contract.functions.owner().call(), str, "owner")

    def is_submitter(self, address: str) -> bool:
        with self._node_errors():
            return _returned(self._contract.functions.isSubmitter(_account(address)).call(), bool, "isSubmitter")

    def is_bound(self, log_id: bytes) -> bool:
        """Whether `log_id` is bound to its own submitters."""
        _check_hash("log_id", log_id)
        with self._node_errors():
            return _returned(self._contract.functions.isBound(log_id).call(), bool, "isBound")

    def is_log_submitter(self, log_id: bytes, address: str) -> bool:
        _check_hash("log_id", log_id)
        with self._node_errors():
            return _returned(self._contract.functions.isLogSubmitter(log_id, _account(address)).call(), bool, "isLogSubmitter")

    def submitter_changes(self, log_id: bytes, *, from_block: int = 0,
                          to_block: int | str = "latest") -> list[SubmitterChange]:
        """Every addition and removal of a submitter of `log_id`, in chain order."""
        _check_hash("log_id", log_id)
        events = self._contract.events
        with self._node_errors():
            found = [(added, event)
                     for added, kind in ((True, events.LogSubmitterAdded), (False, events.LogSubmitterRemoved))
                     for event in kind().get_logs(argument_filters={"logId": log_id},
                                                  from_block=from_block, to_block=to_block)]
        changes = [SubmitterChange(log_id=log_id, submitter=event["args"]["submitter"], added=added,
                                   block_number=event["blockNumber"], log_index=event["logIndex"])
                   for added, event in found]
        return sorted(changes, key=lambda c: c.position)

    def count(self, log_id: bytes) -> int:
        """Number of checkpoints anchored for `log_id`."""
        _check_hash("log_id", log_id)
        with self._node_errors():
            return _returned(self._contract.functions.count(log_id).call(), int, "count")

    def get(self, log_id: bytes, index: int) -> Anchor:
        """Anchor number `index` of `log_id`, from contract storage."""
        _check_hash("log_id", log_id)
        with self._node_errors():
            root, size, timestamp = self._contract.functions.get(log_id, index).call()
        return Anchor(log_id=log_id, index=index, root=bytes(root), size=size,
                      timestamp=_utc(timestamp))

    def latest(self, log_id: bytes) -> Anchor | None:
        """The last anchor of `log_id` from contract storage, or None if there is none."""
        _check_hash("log_id", log_id)
        try:
            with self._node_errors():
                index, root, size, timestamp = self._contract.functions.latest(log_id).call()
        except NoCheckpointError:
            return None
        return Anchor(log_id=log_id, index=index, root=bytes(root), size=size,
                      timestamp=_utc(timestamp))

    def anchors(self, log_id: bytes, *, from_block: int = 0,
                to_block: int | str = "latest") -> list[Anchor]:
        """Every anchor of `log_id` in the block range, from `Anchored` events, by index.

        Public nodes cap the block range of one `eth_getLogs`; callers reading a long history
        from such a node page through it with `from_block`/`to_block`.
        """
        _check_hash("log_id", log_id)
        with self._node_errors():
            events = self._contract.events.Anchored().get_logs(
                argument_filters={"logId": log_id}, from_block=from_block, to_block=to_block)
            times: dict[int, datetime] = {}
            for event in events:
                number = event["blockNumber"]
                if number not in times:
                    times[number] = _utc(self._w3.eth.get_block(number)["timestamp"])
        anchors = [
            Anchor(log_id=bytes(event["args"]["logId"]), index=event["args"]["index"],
                   root=bytes(event["args"]["root"]), size=event["args"]["size"],
                   timestamp=times[event["blockNumber"]], submitter=event["args"]["submitter"],
                   tx_hash=event["transactionHash"].to_0x_hex(),
                   block_number=event["blockNumber"], log_index=event["logIndex"])
            for event in events
        ]
        return sorted(anchors, key=lambda a: a.index)

    # internals

    def _anchor_receipt(self, receipt: TxReceipt) -> AnchorReceipt:
        tx_hash = receipt["transactionHash"].to_0x_hex()
        events = self._contract.events.Anchored().process_receipt(receipt, errors=DISCARD)
        if len(events) != 1:
            raise TransactionFailed(f"expected one Anchored event, got {len(events)}", tx_hash)
        block = self._w3.eth.get_block(receipt["blockNumber"])
        return AnchorReceipt(
            tx_hash=tx_hash,
            block_number=receipt["blockNumber"],
            block_time=_utc(block["timestamp"]),
            index=events[0]["args"]["index"],
            gas_used=receipt["gasUsed"],
            effective_gas_price=receipt["effectiveGasPrice"],
        )

    def _transact(self, call: ContractFunction) -> TxReceipt:
        if self._account is None:
            raise AnchorConfigError("this client is read-only: it has no signing key")
        return _send(self._w3, self._account, call, self._receipt_timeout)

    def _node_errors(self) -> AbstractContextManager[None]:
        return _node_errors(self._artifact)


def _send(w3: Web3, account: LocalAccount, call: Any, receipt_timeout: float) -> TxReceipt:
    """Simulate, sign locally (EIP-1559, chain id from the node), send, wait for the receipt.

    Simulating first (gas estimation) is what surfaces a custom-error revert with its data;
    a transaction that reverts only once mined is reported as `TransactionFailed`.
    """
    sender = account.address
    gas = call.estimate_gas({"from": sender})
    latest = w3.eth.get_block("latest")
    base_fee = latest.get("baseFeePerGas")
    if base_fee is None:
        raise TransactionFailed("the node's chain has no EIP-1559 base fee")
    priority_fee = w3.eth.max_priority_fee
    tx = call.build_transaction({
        "from": sender,
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(sender, "pending"),
        "gas": gas * GAS_MARGIN_PERCENT // 100,
        "maxPriorityFeePerGas": priority_fee,
        "maxFeePerGas": 2 * base_fee + priority_fee,
    })
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    try:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=receipt_timeout)
    except TimeExhausted as e:
        raise AnchorPending(tx_hash.to_0x_hex(), receipt_timeout) from e
    if receipt["status"] != 1:
        raise TransactionFailed("transaction reverted", tx_hash.to_0x_hex())
    return receipt


@contextmanager
def _node_errors(artifact: Artifact) -> Iterator[None]:
    """Translate web3 and transport failures into the AnchorError family."""
    try:
        yield
    except ContractLogicError as e:
        raise _decode_revert(artifact, e.data, e.message or str(e)) from e
    except (ProviderConnectionError, RequestTimedOut, OSError) as e:
        # requests' ConnectionError and Timeout are OSErrors.
        raise AnchorUnavailable(f"Ethereum node unavailable: {e}") from e
    except Web3RPCError as e:
        raise TransactionFailed(f"node refused the request: {e.message}") from e
    except Exception as e:
        data = _tester_revert_data(e)
        if data is None:
            raise
        raise _decode_revert(artifact, "0x" + data.hex(), str(e)) from e


def _tester_revert_data(error: BaseException) -> bytes | None:
    """The revert data of an eth-tester failure, else None.

    web3's in-process `EthereumTesterProvider` does not answer a revert with a JSON-RPC error
    carrying the data, as nodes do: it raises eth-tester's `TransactionFailed` whose text is
    the Python repr of the revert bytes (py-evm's `str(Revert(data))`), possibly behind an
    "execution reverted: " prefix. eth-tester is looked up, never imported: it is loaded only
    when that provider is in use.
    """
    tester = sys.modules.get("eth_tester.exceptions")
    if tester is None or not isinstance(error, tester.TransactionFailed):
        return None
    for candidate in (error.__context__, error):
        if not isinstance(candidate, tester.TransactionFailed) or not candidate.args:
            continue
        raw = candidate.args[0]
        if isinstance(raw, Exception) and raw.args:  # sometimes wrapped once more
            raw = raw.args[0]
        if isinstance(raw, bytes):
            return raw
        if isinstance(raw, str):
            text = raw.removeprefix("execution reverted: ")
            if text.startswith(("b'", 'b"')):
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    continue
                if isinstance(value, bytes):
                    return value
    return None


def _decode_revert(artifact: Artifact, data: Any, message: str) -> AnchorError:
    if isinstance(data, Mapping):  # some nodes nest the revert data
        data = data.get("data")
    if not isinstance(data, str) or not data.startswith("0x") or len(data) < 10:
        return TransactionFailed(f"call reverted: {message}")
    raw = bytes.fromhex(data[2:])
    known = artifact.custom_errors().get(raw[:4])
    if known is None:
        return TransactionFailed(f"call reverted with unknown error data {data}")
    name, names, types = known
    try:
        values = abi_decode(types, raw[4:])
    except Exception as e:  # malformed revert data: still a revert, just undecodable
        return TransactionFailed(f"call reverted with undecodable {name} data {data}: {e}")
    args = {n: _abi_value(t, v) for n, t, v in zip(names, types, values)}
    return _REVERT_CLASSES.get(name, ContractReverted)(name, args, data)


def _abi_value(abi_type: str, value: Any) -> Any:
    if abi_type == "address":
        return Web3.to_checksum_address(value)
    return bytes(value) if isinstance(value, bytes) else value


def _returned(value: object, kind: type[_T], function: str) -> _T:
    """A contract call's result at its ABI type, checked: web3's contract functions are untyped."""
    if not isinstance(value, kind):
        raise NotLedgerAnchor(f"{function}() returned {type(value).__name__}, not {kind.__name__}")
    return value


def _account(address: str) -> str:
    """`address` checksummed, or an `AnchorError` naming it (before any transaction)."""
    if not isinstance(address, str) or not Web3.is_address(address):
        raise AnchorError(f"not an Ethereum address: {address!r}")
    return Web3.to_checksum_address(address)


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes):
        raise AnchorError(f"{name} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise AnchorError(f"{name} must be {HASH_SIZE} bytes, got {len(value)}")


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
