"""The witnessing worker submits a checkpoint as soon as the log grows, not at its next poll: with a
poll of an hour, an append still reaches a witness and its cosignature comes back. Under a stream
of appends it sends each witness one checkpoint per spacing, not one per append."""

from __future__ import annotations

from pathlib import Path

import httpx

from ledger import Ledger
from ledger.config import Settings, init_log
from ledger.witness.cosigners import add_witness, cosignatures_of
from ledger.witness.state import SizeConflict, Witness, WitnessRefusal
from ledger.witness.worker import WitnessWorker
from tests.support import World
from tests.witness.plumbing import wait_for

AN_HOUR = 3600.0


def _witness_transport(witness: Witness, posts: list[bytes] | None = None) -> httpx.MockTransport:
    """The witness's own add-checkpoint behind HTTP statuses, as `api.routes.witness` answers them
    (each body posted kept in `posts`)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if posts is not None:
            posts.append(request.content)
        try:
            return httpx.Response(200, text=witness.add_checkpoint(request.content))
        except SizeConflict as refusal:
            return httpx.Response(409, text=f"{refusal.size}\n", headers={"Content-Type": "text/x.tlog.size"})
        except WitnessRefusal as refusal:
            return httpx.Response(refusal.status, text=refusal.detail)

    return httpx.MockTransport(handle)


def _witnessed_log(tmp_path: Path) -> tuple[World, Witness]:
    """A log (with its demo parties) that submits to one witness, and that witness."""
    log = init_log(Settings(db_url=f"sqlite:///{tmp_path / 'log.db'}", home=tmp_path / "log", origin="wakes.example/log"))
    witness_settings = Settings(db_url=f"sqlite:///{tmp_path / 'witness.db'}", home=tmp_path / "witness", origin="witness.example/log")
    keys = witness_settings.witness_keys()
    witness = Witness(init_log(witness_settings).db, keys)
    assert log.log_key is not None
    witness.add_log(log.origin, log.log_key.verifier_key)
    add_witness(log, "nearby", "\n".join(key.vkey for key in keys), "http://witness.example/witness")
    return World(log), witness


def _cosigned(log: Ledger, size: int) -> bool:
    """Whether the log's latest checkpoint has `size` entries and a cosignature."""
    latest = log.latest_checkpoint()
    return latest is not None and latest.size == size and latest.id is not None and bool(cosignatures_of(log, latest.id))


def test_an_append_wakes_the_worker_before_its_poll(tmp_path: Path) -> None:
    world, witness = _witnessed_log(tmp_path)
    log = world.ledger
    worker = WitnessWorker(log, poll=AN_HOUR, client=httpx.Client(transport=_witness_transport(witness)))
    worker.start()
    try:
        world.firearm()
        size = log.size()
        wait_for(lambda: _cosigned(log, size), "the witness's cosignature of the checkpoint after the append", seconds=30)
    finally:
        worker.close()


def test_a_witness_is_sent_one_checkpoint_per_spacing_however_fast_the_log_grows(tmp_path: Path) -> None:
    world, witness = _witnessed_log(tmp_path)
    log = world.ledger
    posts: list[bytes] = []
    worker = WitnessWorker(log, poll=AN_HOUR, spacing=AN_HOUR, client=httpx.Client(transport=_witness_transport(witness, posts)))
    worker.step()
    size = log.size()
    wait_for(lambda: _cosigned(log, size), "the witness's cosignature of the first checkpoint")
    for _ in range(3):
        world.firearm()
        worker.step()
    assert len(posts) == 1  # the log grew three times within the spacing: nothing more was sent
    worker.close()
