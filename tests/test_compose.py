"""docker-compose.yml and the Dockerfile: valid, complete, and running only commands that exist.

There is no Docker engine here, so the file is validated by `docker-compose config` (Debian's
docker-compose package) and by reading it: the services the deployment needs, their health
checks, and every `tracemark ...` command parsed by the real CLI (unknown options fail).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import rlp
import typer
import yaml
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from tracemark.cli import app

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def tracemark_services() -> dict[str, dict[str, Any]]:
    """Services that run the project image (whose entrypoint is `tracemark`)."""
    return {name: s for name, s in compose()["services"].items() if "build" in s or str(s.get("image", "")).startswith("tracemark")}


def test_docker_compose_config_accepts_the_file():
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("docker-compose is required in CI (apt-get install -y docker-compose)")
        pytest.skip("docker-compose not installed (apt-get install -y docker-compose)")
    done = subprocess.run([binary, "-f", str(COMPOSE), "config"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert resolved["services"]["anchor"]["environment"]["TRACEMARK_RPC_URL"] == "http://chain:8545"
    assert resolved["services"]["witness"]["command"][0] == "serve"
    assert "witness-init" in resolved["services"]["api"]["depends_on"]
    assert resolved["services"]["ke"]["environment"]["TRACEMARK_DB"] == "sqlite:////ke/ke.db"
    assert {"witness-init", "ke-init"} <= set(resolved["services"]["ke"]["depends_on"])


def test_the_deployment_has_its_services_and_health_checks():
    services = compose()["services"]
    assert {"postgres", "chain", "api", "ke", "witness", "anchor"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["chain"]["image"].startswith("ghcr.io/foundry-rs/foundry")
    assert services["chain"]["entrypoint"] == ["anvil"]
    for name in ("postgres", "chain", "api", "ke", "witness", "anchor"):
        assert services[name]["healthcheck"]["test"], f"{name} has no health check"
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s health, which it never reports"
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert "/readyz" in " ".join(services["ke"]["healthcheck"]["test"])


def test_the_api_and_the_dev_chain_are_published_on_127_0_0_1_only():
    """A dev chain's RPC lets anyone send transactions from its unlocked dev accounts, and the API
    answers plain HTTP: neither is published on the machine's other interfaces."""
    published = {name: service["ports"] for name, service in compose()["services"].items() if "ports" in service}
    assert {"api", "ke", "chain"} <= set(published)
    for name, ports in published.items():
        for port in ports:
            assert _host_ip(port) == "127.0.0.1", f"{name} publishes {port!r} beyond 127.0.0.1"


def _host_ip(port: str | dict[str, Any]) -> str | None:
    """The address a published port binds on the host: the long syntax's `host_ip`, or the first
    part of the short syntax's HOST:PUBLISHED:TARGET (None when no address is given: every one)."""
    if isinstance(port, dict):
        return port.get("host_ip")
    parts = str(port).split(":")
    return parts[0] if len(parts) == 3 else None


def test_the_file_says_loudly_that_its_anchor_account_is_for_dev_chains_only():
    warning = next((line for line in COMPOSE.read_text().splitlines() if "WARNING" in line), "")
    assert "DEV CHAINS ONLY" in warning, "the compose file must warn, in capitals, that its dev account is for dev chains only"
    keystore_line = next(line for line in COMPOSE.read_text().splitlines() if "TRACEMARK_ANCHOR_KEYSTORE:" in line)
    assert "DEV CHAINS ONLY" in keystore_line


def test_api_and_worker_run_on_postgresql_with_the_anchoring_variables():
    services = compose()["services"]
    assert services["api"]["command"][0] == "serve"
    assert services["anchor"]["command"][:2] == ["anchor", "run"]
    for name in ("api", "anchor"):
        env = services[name]["environment"]
        assert env["TRACEMARK_DB"].startswith("postgresql://") and "@postgres:5432/" in env["TRACEMARK_DB"]
    env = services["anchor"]["environment"]
    assert env["TRACEMARK_RPC_URL"] == "http://chain:8545"
    for variable in ("TRACEMARK_ANCHOR_ADDRESS", "TRACEMARK_ANCHOR_KEYSTORE", "TRACEMARK_ANCHOR_PASSPHRASE"):
        assert env[variable], variable
    mounted = {v.split(":")[1] for v in services["anchor"]["volumes"] if v.startswith("./")}
    assert env["TRACEMARK_ANCHOR_KEYSTORE"] in mounted


def test_the_dev_key_deploys_the_contract_at_the_configured_address():
    """anvil's first deployment from the dev key (nonce 0) must land where the worker looks."""
    env = compose()["services"]["anchor"]["environment"]
    keystore = ROOT / next(v.split(":")[0] for v in compose()["services"]["anchor"]["volumes"] if v.startswith("./"))
    account = Account.from_key(Account.decrypt(json.loads(keystore.read_text()), env["TRACEMARK_ANCHOR_PASSPHRASE"]))
    created = to_checksum_address(keccak(rlp.encode([bytes.fromhex(account.address[2:]), 0]))[12:])
    assert created == env["TRACEMARK_ANCHOR_ADDRESS"]


def _script(service: dict[str, Any]) -> str | None:
    """The shell script a service of the project image runs instead of `tracemark` (None if it runs `tracemark`)."""
    if service.get("entrypoint", ["tracemark"])[0] == "tracemark":
        return None
    assert service["entrypoint"][:2] == ["sh", "-ec"], service["entrypoint"]
    return "\n".join(service["command"]).replace("$$", "$")  # as compose hands it to the shell


def _script_commands(script: str) -> list[list[str]]:
    """Each `tracemark ...` a script runs, its arguments made of variables or substitutions (known only
    when it runs) replaced by a placeholder, so that the real CLI can parse the rest."""
    commands = []
    for line in script.splitlines():
        for part in line.replace("||", "\n").replace("|", "\n").splitlines():
            words = shlex.split(part.strip())
            if words[:1] == ["tracemark"]:
                commands.append(["x" if "$" in word else word for word in words[1:]])
    return commands


def _commands() -> list[tuple[str, list[str]]]:
    found = []
    for name, service in tracemark_services().items():
        script = _script(service)
        found += [(name, service["command"])] if script is None else [(name, args) for args in _script_commands(script)]
    return found


def test_a_witness_serves_beside_the_log_on_its_own_keys_and_database():
    services = compose()["services"]
    witness, api = services["witness"], services["api"]
    assert witness["image"] == api["image"] and witness["command"][:1] == ["serve"]
    assert "/healthz" in " ".join(witness["healthcheck"]["test"])
    env = witness["environment"]
    assert env["TRACEMARK_DB"] != api["environment"]["TRACEMARK_DB"] and env["TRACEMARK_DB"].startswith("sqlite:///")
    assert env["TRACEMARK_HOME"] != api["environment"]["TRACEMARK_HOME"]
    assert [v.split(":")[0] for v in witness["volumes"]] == ["witness"]  # never the log's home, where its private key is
    assert "ports" not in witness  # only the log talks to it, on the compose network


def test_both_logs_are_witnessed_and_point_at_the_witness_before_they_start():
    services = compose()["services"]
    setup, witness = services["witness-init"], services["witness"]
    script = _script(setup)
    assert script is not None
    env = setup["environment"]
    assert env["TRACEMARK_HOME"] == witness["environment"]["TRACEMARK_HOME"] and env["TRACEMARK_DB"] == witness["environment"]["TRACEMARK_DB"]
    port = witness["command"][witness["command"].index("--port") + 1]
    assert env["WITNESS_URL"] == f"http://witness:{port}/witness"
    for log, name, volume in ((services["api"], "DE", services["init"]["volumes"][0].split(":")[0]), (services["ke"], "KE", "ke")):
        log_env = log["environment"]
        home = log_env["TRACEMARK_HOME"]
        # the witness witnesses this log, whose checkpoints its verifier key (in the log's home) signs
        assert env[f"{name}_ORIGIN"] == log_env["TRACEMARK_ORIGIN"]
        assert any(mount.startswith(f"{volume}:{home}") for mount in setup["volumes"])
        assert f'tracemark witness logs add "${name}_ORIGIN" "$(cat {home}/log.pub)"' in script
        # the log submits to the witness service's add-checkpoint, and keeps what the witness's own keys sign
        assert env[f"{name}_DB"] == log_env["TRACEMARK_DB"]
        assert f'tracemark witnesses add witness "$(tracemark witness key)" "$WITNESS_URL" --db "${name}_DB" --home {home}' in script
        # configured before the log starts
        assert log["depends_on"]["witness-init"]["condition"] == "service_completed_successfully"
    # each added once, however often the deployment starts
    assert script.count("||") == 4
    # ... and before the witness serves, once both logs have their keys
    assert witness["depends_on"]["witness-init"]["condition"] == "service_completed_successfully"
    assert {name for name, condition in setup["depends_on"].items() if condition["condition"] == "service_completed_successfully"} == {"init", "ke-init"}


def test_the_kenyan_log_runs_on_sqlite_with_its_own_keys_and_port():
    services = compose()["services"]
    ke, de = services["ke"], services["api"]
    assert ke["image"] == de["image"] and ke["command"][:1] == ["serve"]
    env = ke["environment"]
    assert env["TRACEMARK_DB"].startswith("sqlite:///") and env["TRACEMARK_DB"] != services["witness"]["environment"]["TRACEMARK_DB"]
    assert env["TRACEMARK_HOME"] != de["environment"]["TRACEMARK_HOME"] and env["TRACEMARK_ORIGIN"] != de["environment"]["TRACEMARK_ORIGIN"]
    assert [v.split(":")[0] for v in ke["volumes"]] == ["ke"]  # never the German log's home, where its private key is
    assert ke["ports"] != de["ports"]


def test_the_two_logs_peer_with_each_other_signed_by_their_admins():
    """Each log's `peers add` names the other by the origin it serves, its verifier key from its own
    home, and its URL on the compose network; each runs once, after both logs have their keys."""
    services = compose()["services"]
    sides = {"ke": ("ke-init", "api", "DE", "facts,holder_country"), "api": ("de-peers", "ke", "KE", "facts")}
    for log, (setup_name, other_name, country, share) in sides.items():
        setup, other = services[setup_name], services[other_name]
        script = _script(setup)
        assert script is not None
        assert setup["environment"]["TRACEMARK_ORIGIN"] == services[log]["environment"]["TRACEMARK_ORIGIN"]  # it signs for this log
        assert setup["environment"][f"{country}_ORIGIN"] == other["environment"]["TRACEMARK_ORIGIN"]
        other_home = other["environment"]["TRACEMARK_HOME"]
        port = other["command"][other["command"].index("--port") + 1]
        add = next(line for line in script.splitlines() if "tracemark peers add" in line)
        assert add.startswith(f'tracemark peers list --json | grep -qF "${country}_ORIGIN" || ')
        assert (f'tracemark peers add {country.lower()} --origin "${country}_ORIGIN" --vkey "$(cat {other_home}/log.pub)" '
                f"--url http://{other_name}:{port} --country {country} --share {share} --as registry --passphrase demo") in add
        assert f"{other['volumes'][0].split(':')[0]}:{other_home}:ro" in setup["volumes"]
    assert services["de-peers"]["depends_on"]["ke-init"]["condition"] == "service_completed_successfully"
    assert services["ke-init"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["api"]["depends_on"]["de-peers"]["condition"] == "service_completed_successfully"
    # the admins that sign are those of each log's demo data, seeded once
    assert "test -s /data/keys/parties.json || tracemark demo --cast de" in (_script(services["init"]) or "")
    assert "test -s /ke/keys/parties.json || tracemark demo --cast ke" in (_script(services["ke-init"]) or "")


@pytest.mark.parametrize(("service", "args"), _commands(), ids=[name for name, _ in _commands()])
def test_every_tracemark_command_in_the_file_exists(service: str, args: list[str]):
    group = typer.main.get_command(app)
    command: Any = group
    path = list(args)
    while hasattr(command, "commands"):  # a group (Typer has its own Click)
        name = path.pop(0)
        assert name in command.commands, f"{service}: `tracemark {' '.join(args)}`: no command {name!r}"
        command = command.commands[name]
    command.make_context(f"tracemark {' '.join(args)}", path)  # unknown options or bad values raise


def test_the_healthcheck_commands_exist_too():
    group = typer.main.get_command(app)
    test = compose()["services"]["anchor"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "tracemark"]
    assert "status" in group.commands[test[2]].commands  # type: ignore[attr-defined]


def test_the_dockerfile_installs_the_project_with_the_contract_artifact():
    text = DOCKERFILE.read_text()
    assert 'ENTRYPOINT ["tracemark"]' in text
    for line in text.splitlines():
        if line.startswith("COPY "):
            *sources, _ = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    assert "contracts/LedgerAnchor.json" in text
    assert "pip install -e ." in text  # ledger.anchor finds the artifact beside the sources
