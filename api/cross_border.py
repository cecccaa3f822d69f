"""The API side of cross-border scans: asking the issuing peer, and telling it of a hit on its flagged item.

`look_up_peer` runs `ledger.look_up` in a worker thread (the peer client is bounded by
$TRACEMARK_PEER_TIMEOUT, so the scan answers within it). `send_hit` posts the hit notice in the
background, retrying with backoff while the peer is unreachable, so the officer's answer and the
log's append never wait on the peer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.datastructures import State

from ledger import (
    LOG_KEY_ONLY,
    Ledger,
    Lookup,
    Peer,
    PeerClient,
    PeerRefused,
    PeerUnreachable,
    Policy,
    Settings,
    StoreError,
    hit_proof,
    load_policy,
    look_up,
)

__all__ = ["server_policy", "peer_client", "look_up_peer", "send_hit", "HIT_RETRIES"]

log = logging.getLogger("tracemark.federation")

HIT_RETRIES = (0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256)
"""Seconds before each further try of a hit notice while the peer is unreachable (about 8 minutes in all)."""

_PENDING: set[asyncio.Task[Any]] = set()
"""Hit notices on their way (the event loop keeps only weak references to tasks)."""

def server_policy(settings: Settings) -> Policy:
    """This server's verifier policy ($TRACEMARK_POLICY), else the log key alone (no cosignature required)."""
    return LOG_KEY_ONLY if settings.policy_path is None else load_policy(settings.policy_path)


def peer_client(state: State) -> PeerClient:
    """The app's one client to its peers, made at first use."""
    client: PeerClient | None = getattr(state, "peer_client", None)
    if client is None:
        ledger: Ledger = state.ledger
        client = state.peer_client = PeerClient.for_log(ledger.log_key, ledger.origin)
    return client


async def look_up_peer(state: State, peer: Peer, uid: str) -> Lookup:
    """What `peer` says of its item `uid` (or last said, when it does not answer usably)."""
    ledger: Ledger = state.ledger
    policy = server_policy(state.settings)
    return await asyncio.to_thread(look_up, ledger, peer_client(state), peer, uid, policy)


def send_hit(state: State, peer: Peer, seq: int) -> None:
    """Tell `peer` of inspection `seq` of its flagged item, in the background."""
    task = asyncio.get_running_loop().create_task(_send(state, peer, seq))
    _PENDING.add(task)  # the loop keeps only a weak reference to a task
    task.add_done_callback(_PENDING.discard)


async def _send(state: State, peer: Peer, seq: int) -> None:
    ledger: Ledger = state.ledger
    for delay in (0, *HIT_RETRIES):
        await asyncio.sleep(delay)
        try:
            body = await asyncio.to_thread(hit_proof, ledger, seq)
            await asyncio.to_thread(peer_client(state).post, peer, "/federation/v1/hits", body)
            return
        except PeerRefused as refused:
            log.warning("hit notice of entry %s refused by %s: %s", seq, peer.name, refused.detail)
            return
        except (PeerUnreachable, StoreError) as failed:
            log.info("hit notice of entry %s not delivered to %s yet: %s", seq, peer.name, failed)
    log.warning("hit notice of entry %s to %s given up after %s tries", seq, peer.name, len(HIT_RETRIES) + 1)
