"""The API's commands: `tracemark serve` and `tracemark apikey create|revoke|list` (FastAPI imported lazily)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from tracemark.cli.common import DbOption, HomeOption, fail, reported, settings_from

if TYPE_CHECKING:
    import uvicorn

__all__ = ["register"]

console = Console()
_WORKER_HEALTHCHECK = 30
"""Seconds a server process may take to answer its supervisor's health check (uvicorn's default is
5) before it is killed and started again: on a busy machine a process still importing its modules
can take longer, and would be killed again and again without ever serving."""




def apikey_create(
    party: Annotated[str, typer.Argument(help="the party id the key acts for")],
    label: Annotated[str, typer.Option("--label", help="what the key is for")] = "",
    managed_key: Annotated[bool, typer.Option("--managed-key", help="also give the party a server-held key that signs its scans")] = False,
    authoriser: Annotated[Optional[Path], typer.Option("--authoriser", help="keystore of the party or an admin that adds the managed key")] = None,
    passphrase: Annotated[Optional[str], typer.Option("--passphrase", envvar="TRACEMARK_KEY_PASSPHRASE", help="the authoriser keystore's passphrase")] = None,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Create an API key for a party; the token is printed once and only its hash is kept."""
    from api.keys import create_api_key
    from api.managed import create_managed_key
    from ledger import load_keystore, open_ledger

    settings = settings_from(db, home)
    ledger = open_ledger(settings)
    if managed_key:
        if authoriser is None:
            raise fail("--managed-key needs --authoriser KEYSTORE (a key of the party or of an admin)")
        if passphrase is None:
            passphrase = typer.prompt("authoriser passphrase", hide_input=True)
        address = create_managed_key(ledger, settings, party, load_keystore(authoriser, passphrase))
        console.print(f"managed key {address} of {party} added to the log")
    issued = create_api_key(ledger, party, label)
    console.print(f"API key {issued.id} for {party}:")
    typer.echo(issued.token)


def apikey_revoke(
    key_id: Annotated[str, typer.Argument(help="the key id (the hex after tmk_)")],
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Revoke an API key; requests with it are refused from now on."""
    from api.keys import revoke_api_key
    from ledger import open_ledger

    row = revoke_api_key(open_ledger(settings_from(db, home)), key_id)
    console.print(f"API key {row.id} of {row.party_id} revoked at {row.revoked_at}")


def apikey_list(
    party: Annotated[Optional[str], typer.Option("--party", help="only this party's keys")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """List API keys (ids, parties, labels; never secrets)."""
    from api.keys import list_api_keys
    from ledger import open_ledger

    keys = [{"id": key.id, "party": key.party_id, "label": key.label, "created": key.created_at, "revoked": key.revoked_at}
            for key in list_api_keys(open_ledger(settings_from(db, home)), party)]
    if as_json:
        typer.echo(json.dumps(keys, indent=2))
        return
    table = Table("id", "party", "label", "created (UTC)", "revoked (UTC)")
    for key in keys:
        table.add_row(key["id"], key["party"], key["label"], _minute(key["created"]), _minute(key["revoked"]))
    console.print(table)


def _minute(time: str | None) -> str:
    """An RFC 3339 time to the minute, short enough for a table in 80 columns."""
    return "" if time is None else time[:16].replace("T", " ")


def serve(
    db: DbOption = None,
    home: HomeOption = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="server processes (scale across cores; each has its own ledger)")] = 1,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log",
                                             help="log a line per request (off behind a proxy that logs them already)")] = True,
) -> None:
    """Run the HTTP API (uvicorn); on a demo log, first hand out the demo parties' API keys.

    A connection whose request headers are not complete in $TRACEMARK_HEADER_TIMEOUT seconds (default 10) is closed.
    """
    import uvicorn

    from api.app import create_app, freeze_startup_heap
    from api.demo_keys import DEMO_LABELS, api_keys_path, demo_files_current, forget_demo_files, seed_demo_api_keys
    from api.slowheaders import HeaderTimeoutConfigError, HeaderTimeoutProtocol, header_timeout
    from ledger import DEMO_PASSPHRASE, Courier, PeerClient, WitnessWorker, cache_ttl, init_log, verifier_key_id
    from scanner.claims import marking_verifier
    from scanner.markings import issue_demo_labels

    try:
        header_timeout()
    except HeaderTimeoutConfigError as exc:
        raise fail(str(exc)) from exc
    cache_ttl()  # a bad $TRACEMARK_PEER_CACHE_TTL stops the server here, not each worker process
    settings = settings_from(db, home)
    ledger = init_log(settings)
    keys_file = api_keys_path(settings)
    demo = (settings.keys_dir / "parties.json").exists()
    labels = settings.home / DEMO_LABELS
    if demo and not demo_files_current(ledger, settings):
        forget_demo_files(settings)
        seed_demo_api_keys(ledger, settings)
        issue_demo_labels(ledger, settings.keys_dir, DEMO_PASSPHRASE, labels, verifier_key_id(settings.verifier_key()))
    WitnessWorker(ledger).start()  # submits each new checkpoint to the configured witnesses
    courier = None
    if ledger.log_key is not None:  # delivers trace answers and hit notices to peers, retrying while one is down
        courier = Courier(ledger, PeerClient.for_log(ledger.log_key, ledger.origin))
        courier.start()
    url = f"http://{host}:{port}"
    console.print(f"Tracemark API on [bold]{url}[/]  (docs {url}/docs, log {settings.origin} on {settings.db_url}, {ledger.size()} entries)")
    if demo:
        _print_demo(keys_file, url)
        console.print(f"QR labels of the demo items: {labels}  (camera page: {url}/scan)")
    if workers > 1:
        ledger.db.dispose()  # the workers open their own connections
        os.environ.update(TRACEMARK_DB=settings.db_url, TRACEMARK_HOME=str(settings.home), TRACEMARK_ORIGIN=settings.origin)
        _serve_workers(uvicorn.Config("api.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                                      http=HeaderTimeoutProtocol, log_level="info", access_log=access_log,
                                      timeout_worker_healthcheck=_WORKER_HEALTHCHECK))
        return
    app = create_app(settings, ledger=ledger, marking_verifier=marking_verifier(ledger), courier=courier)
    freeze_startup_heap()
    uvicorn.run(app, host=host, port=port, http=HeaderTimeoutProtocol, log_level="info", access_log=access_log)


def _serve_workers(config: uvicorn.Config) -> None:
    """uvicorn's supervisor over `config.workers` processes, each listening on a socket of its own."""
    from uvicorn.supervisors import Multiprocess

    from api.listening import listening_address

    try:
        address = listening_address(config.host, config.port)
    except OSError as exc:
        raise typer.BadParameter(f"cannot listen on {config.host}:{config.port}: {exc.strerror}", param_hint="--port") from exc
    try:
        Multiprocess(config, sockets=[address]).run()
    finally:
        address.close()


def _print_demo(keys_file: Path, url: str) -> None:
    parties = json.loads(keys_file.read_text())
    table = Table("party", "role", "country", "scans signed by", title="demo parties")
    for party_id, info in parties.items():
        table.add_row(party_id, info["role"], info["country"], "the server" if info["managed_key"] else "")
    console.print(table)
    keystores = Path(next(iter(parties.values()))["keystore"]).parent if parties else keys_file.parent
    console.print(f"keystores: {keystores}/<party>.json (passphrase 'demo')")
    console.print(f"API keys: {keys_file}")
    console.print(f"e.g. curl -H \"Authorization: Bearer $(jq -r '.\"ke-customs\".api_key' {keys_file})\" {url}/v1/parties/ke-customs",
                  soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add `serve` and `apikey` to the `tracemark` app."""
    app.command()(reported(serve))
    keys = typer.Typer(help="API keys of parties", no_args_is_help=True)
    keys.command("create")(reported(apikey_create))
    keys.command("revoke")(reported(apikey_revoke))
    keys.command("list")(reported(apikey_list))
    app.add_typer(keys, name="apikey")
