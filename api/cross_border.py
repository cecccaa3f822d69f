"""The API side of cross-border scans: asking the issuing peer, and owing it a hit notice on its flagged item.

`look_up_peer` takes the peer's answer if one was verified within $TRACEMARK_PEER_CACHE_TTL
(`ledger.FreshAnswers`, made by `api.app.create_app`), else asks the peer, awaiting the exchange
on the peer client's own threads (bounded by $TRACEMARK_PEER_TIMEOUT), so a slow peer holds neither
the event loop nor a thread of the server's pool. `send_hit` queues the hit notice in the outbox
and wakes the server's courier, so the officer's answer never waits on the peer and the notice
outlives a restart.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import State

from ledger import LOG_KEY_ONLY, Courier, FreshAnswers, Ledger, Lookup, Peer, PeerClient, Policy, Settings, load_policy, look_up, queue_hit

__all__ = ["server_policy", "peer_client", "look_up_peer", "send_hit"]


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
    answers: FreshAnswers = state.fresh_answers
    return await answers.look_up(peer, uid, lambda: look_up(ledger, peer_client(state), peer, uid, server_policy(state.settings)))


async def send_hit(state: State, peer: Peer, seq: int) -> None:
    """Owe `peer` the notice of inspection `seq` of its flagged item; the courier delivers it."""
    await asyncio.to_thread(queue_hit, state.ledger, peer, seq)
    courier: Courier | None = state.courier
    if courier is not None:
        courier.wake()
