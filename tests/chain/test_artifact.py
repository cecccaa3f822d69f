"""The committed LedgerAnchor artifact is byte for byte a fresh compile with the pinned solc.

Needs Node (the machine and CI have Node 20) and `npm ci` in contracts/. A missing Node or
missing node_modules fails the test rather than skipping it: the check must run in CI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
SCRIPT_FILES = ("compile.js", "LedgerAnchor.sol", "package.json")


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not on PATH: the artifact check needs Node >= 20")
    if not (CONTRACTS / "node_modules" / "solc" / "package.json").is_file():
        pytest.fail("solc is not installed: run `cd contracts && npm ci`")
    return found


def run_check(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([node(), str(directory / "compile.js"), "--check"],
                          capture_output=True, text=True, timeout=120, check=False)


def test_committed_artifact_is_a_fresh_compile():
    result = run_check(CONTRACTS)
    assert result.returncode == 0, result.stderr
    assert "matches a fresh compile" in result.stdout


def test_lockfile_pins_solc_exactly():
    pinned = json.loads((CONTRACTS / "package.json").read_text())["dependencies"]["solc"]
    assert pinned[0].isdigit(), f"solc must be pinned to an exact version, got {pinned!r}"
    lock = json.loads((CONTRACTS / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/solc"]["version"] == pinned


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A copy of contracts/ (sharing its node_modules) whose artifact a test may tamper with."""
    for name in (*SCRIPT_FILES, "LedgerAnchor.json"):
        shutil.copyfile(CONTRACTS / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(CONTRACTS / "node_modules", target_is_directory=True)
    return tmp_path


def test_changed_bytecode_fails_the_check(scratch: Path):
    artifact = json.loads((scratch / "LedgerAnchor.json").read_text())
    code = artifact["deployedBytecode"]
    artifact["deployedBytecode"] = code[:-2] + ("00" if code[-2:] != "00" else "01")
    (scratch / "LedgerAnchor.json").write_text(json.dumps(artifact, indent=2, sort_keys=True) + "\n")
    result = run_check(scratch)
    assert result.returncode == 1
    assert "fields differ: deployedBytecode" in result.stderr


def test_changed_formatting_fails_the_check(scratch: Path):
    path = scratch / "LedgerAnchor.json"
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    result = run_check(scratch)
    assert result.returncode == 1
    assert "formatting differs" in result.stderr


def test_changed_source_fails_the_check(scratch: Path):
    source = scratch / "LedgerAnchor.sol"
    source.write_text(source.read_text().replace("if (size < previous)", "if (size <= previous)"))
    result = run_check(scratch)
    assert result.returncode == 1
    assert "bytecode" in result.stderr
