"""The real `tracemark` command: demo, verify (and what it says about one changed byte), rebuild, checkpoint, erase, keys."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.config import Settings, open_ledger
from ledger.log.checkpoint import LogKey, verify_checkpoint
from ledger.log.keys import load_keystore
from ledger.store.packing import pack, unpack
from ledger.store.rebuild import snapshot
from tracemark.cli import app

TRACEMARK = Path(sys.executable).with_name("tracemark")
ORIGIN = "cli.tracemark.test/log"
SEQ = 17  # the entry the tampering cases change
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo log per module, made by the installed console script."""
    home = tmp_path_factory.mktemp("demo")
    db = f"sqlite:///{home / 'demo.db'}"
    env = {"PATH": str(TRACEMARK.parent), "TRACEMARK_ORIGIN": ORIGIN, "HOME": str(home)}
    done = subprocess.run([str(TRACEMARK), "demo", "--items", "4", "--db", db, "--home", str(home / "keys")],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "checkpoint at size" in done.stdout
    return home


@pytest.fixture
def copy(demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the demo database for one case."""
    monkeypatch.setenv("TRACEMARK_ORIGIN", ORIGIN)
    for suffix in ("", "-wal", "-shm"):
        if (demo_home / f"demo.db{suffix}").exists():
            shutil.copy(demo_home / f"demo.db{suffix}", tmp_path / f"demo.db{suffix}")
    return tmp_path / "demo.db"


def run(*args: str, db: Path | None = None, home: Path | None = None) -> tuple[int, str]:
    extra = ([] if db is None else ["--db", f"sqlite:///{db}"]) + ([] if home is None else ["--home", str(home)])
    result = runner.invoke(app, [*args, *extra])
    return result.exit_code, " ".join(result.output.split())  # stdout and stderr, unwrapped from rich's line breaks


def settings(db: Path, demo_home: Path) -> Settings:
    return Settings(db_url=f"sqlite:///{db}", home=demo_home / "keys", origin=ORIGIN)


def test_installed_verify_passes_after_the_demo(demo_home: Path, copy: Path) -> None:
    done = subprocess.run([str(TRACEMARK), "verify", "--db", f"sqlite:///{copy}", "--home", str(demo_home / "keys")],
                          capture_output=True, text=True, env={"TRACEMARK_ORIGIN": ORIGIN}, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout


def _other_char(char: str) -> str:
    if char.isdigit():
        return "0" if char != "0" else "1"
    if char.isalpha():
        return "a" if char not in "aA" else "b"
    return char


def _flip_blob(column: str, table: str = "entry", where: str = f"seq = {SEQ}", at: int = 5) -> Callable[[sqlite3.Connection], None]:
    def change(con: sqlite3.Connection) -> None:
        (value,) = con.execute(f"SELECT {column} FROM {table} WHERE {where}").fetchone()
        if isinstance(value, str):  # keep text well formed: swap one character for another of its kind
            new = value[:at] + _other_char(value[at]) + value[at + 1 :]
        else:
            raw = bytearray(value)
            raw[at] ^= 0x01
            new = bytes(raw)
        con.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (new,))

    return change


def _edit_event(old: bytes, new: bytes) -> Callable[[sqlite3.Connection], None]:
    """Change the event's text itself and store it packed again, as a forger with the database would."""
    def change(con: sqlite3.Connection) -> None:
        (stored,) = con.execute(f"SELECT event FROM entry WHERE seq = {SEQ}").fetchone()
        event = unpack(stored)
        assert old in event and stored != event  # the row really is packed, and holds what we change
        con.execute(f"UPDATE entry SET event = ? WHERE seq = {SEQ}", (pack(event.replace(old, new, 1)),))

    return change


def _last_seq(con: sqlite3.Connection) -> int:
    return con.execute("SELECT max(seq) FROM entry").fetchone()[0]


# (what is changed, how, the sequence number verify must name, what it must say)
TAMPERING = [
    ("entry.event", _flip_blob("event", at=10), lambda con: SEQ, "leaf hash does not match"),
    ("entry.event, repacked", _edit_event(b'"time":"2', b'"time":"1'), lambda con: SEQ, "leaf hash does not match"),
    ("entry.signature", _flip_blob("signature", at=20), lambda con: SEQ, "leaf hash does not match"),
    ("entry.signer", _flip_blob("signer", at=3), lambda con: SEQ, "leaf hash does not match"),
    ("entry.event_key", lambda con: con.execute(f"UPDATE entry SET event_key = event_key + 1 WHERE seq = {SEQ}"), lambda con: SEQ,
     "event key does not match"),
    ("entry.leaf_hash", _flip_blob("leaf_hash", at=31), lambda con: SEQ, "leaf hash does not match"),
    ("entry.recorded_at", _flip_blob("recorded_at", at=18), lambda con: SEQ, "leaf hash does not match"),
    ("merkle_node.hash", _flip_blob("hash", table="merkle_node", where="level = 2 AND idx = 5", at=0), lambda con: 20,
     "Merkle node (level 2, index 5)"),
    ("checkpoint.note", _flip_blob("note", table="checkpoint", where="id = 1", at=2), _last_seq, "signed note does not verify"),
    ("checkpoint.root", _flip_blob("root", table="checkpoint", where="id = 1", at=7), _last_seq, "differ from its signed note"),
]


@pytest.mark.parametrize(("what", "change", "seq", "says"), TAMPERING, ids=[case[0] for case in TAMPERING])
def test_verify_names_one_changed_byte(demo_home: Path, copy: Path, what: str, change: Callable[[sqlite3.Connection], None],
                                       seq: Callable[[sqlite3.Connection], int], says: str) -> None:
    assert run("verify", db=copy, home=demo_home / "keys")[0] == 0
    with sqlite3.connect(copy) as con:
        change(con)
        bad = seq(con)
    code, output = run("verify", db=copy, home=demo_home / "keys")
    assert code == 1, output
    assert f"FAILED first bad sequence number {bad}: " in output, output
    assert says in output.split("first bad sequence number", 1)[1].split(" seq ", 1)[0], output


def test_verify_needs_the_right_verifier_key(demo_home: Path, copy: Path) -> None:
    code, output = run("verify", "--vkey", LogKey.generate(ORIGIN).verifier_key, db=copy, home=demo_home / "keys")
    assert code == 1 and "signed note does not verify" in output


def test_rebuild_restores_a_damaged_projection(demo_home: Path, copy: Path) -> None:
    ledger = open_ledger(settings(copy, demo_home))
    with ledger.reading() as session:
        before = snapshot(session)
    with sqlite3.connect(copy) as con:
        con.execute("UPDATE item SET status = 'active', custodian = 'de-police'")
        con.execute("DELETE FROM party_key")
    code, output = run("rebuild", db=copy, home=demo_home / "keys")
    assert code == 0 and f"from {ledger.size()} entries" in output
    with ledger.reading() as session:
        assert snapshot(session) == before
    ledger.db.dispose()


def test_checkpoint_prints_a_note_the_verifier_key_accepts(demo_home: Path, copy: Path) -> None:
    result = runner.invoke(app, ["checkpoint", "--db", f"sqlite:///{copy}", "--home", str(demo_home / "keys")])
    assert result.exit_code == 0
    note = result.stdout
    vkey = (demo_home / "keys" / "log.pub").read_text().strip()
    ledger = open_ledger(settings(copy, demo_home))
    checkpoint = verify_checkpoint(note, vkey, ORIGIN)
    assert (checkpoint.size, checkpoint.root) == (ledger.size(), ledger.root())
    ledger.db.dispose()


def test_erase_removes_the_owner_and_verify_still_passes(demo_home: Path, copy: Path) -> None:
    with sqlite3.connect(copy) as con:
        (commitment,) = con.execute("SELECT commitment FROM personal_record WHERE name IS NOT NULL").fetchone()
    code, output = run("erase", commitment, "--reason", "court order 12/34", db=copy, home=demo_home / "keys")
    assert code == 0 and commitment in output
    with sqlite3.connect(copy) as con:
        row = con.execute("SELECT salt, name, address, erased_reason FROM personal_record WHERE commitment = ?", (commitment,)).fetchone()
    assert row == (None, None, None, "court order 12/34")
    assert run("verify", db=copy, home=demo_home / "keys")[0] == 0
    code, output = run("erase", "ab" * 32, "--reason", "x", db=copy, home=demo_home / "keys")
    assert code == 2 and f"personal record '{'ab' * 32}' not found" in output


def test_keys_new_writes_a_keystore_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "dealer.json"
    code, output = run("keys", "new", "--out", str(out), "--passphrase", "s3cret")
    assert code == 0
    account = load_keystore(out, "s3cret")
    assert account.address in output
    assert out.stat().st_mode & 0o077 == 0
    code, output = run("keys", "new", "--out", str(out), "--passphrase", "other")
    assert code == 1 and "refusing to overwrite" in output
    assert load_keystore(out, "s3cret").address == account.address
