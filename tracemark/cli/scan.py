"""The scanner's commands: labels, bundle export, scan."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.markup import escape

from scanner.payload import DEFAULT_HOST
from tracemark.cli.common import DbOption, HomeOption, PolicyOption, console, err, fail, reported, settings_from
from tracemark.cli.policy import log_key_for, read_policy

if TYPE_CHECKING:
    from ledger import Ledger, Policy

__all__ = ["register"]

PassphraseOption = Annotated[
    Optional[str],
    typer.Option("--passphrase", envvar="TRACEMARK_KEY_PASSPHRASE", help="passphrase of the marking parties' keystores"),
]
HostOption = Annotated[
    str, typer.Option("--host", envvar="TRACEMARK_PUBLIC_HOST",
                      help="the log's public host: codes point to it (phones open https://HOST/I/...), bundles vouch for it")
]


def _split(values: list[str]) -> list[str]:
    return [part for value in values for part in value.replace(",", " ").split()]


def labels(
    items: Annotated[list[str], typer.Option("--items", help="item ids (repeat the flag or separate with commas)")],
    out: Annotated[Path, typer.Option("--out", help="the A4 PDF sheet to write")] = Path("labels.pdf"),
    png_dir: Annotated[Optional[Path], typer.Option("--png", help="also write <uid>.png per item into this folder")] = None,
    svg_dir: Annotated[Optional[Path], typer.Option("--svg", help="also write <uid>.svg per item into this folder")] = None,
    host: HostOption = DEFAULT_HOST,
    passphrase: PassphraseOption = None,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Print QR labels (code + serial) for items; codes not issued yet are signed by their marking party's keystore."""
    from ledger import open_ledger, verifier_key_id
    from scanner.markings import label_for
    from scanner.render import label_sheet, png, svg

    settings = settings_from(db, home)
    ledger = open_ledger(settings)
    uids = _split(items)
    if not uids:
        raise fail("give at least one item id with --items")
    log_id = verifier_key_id(settings.verifier_key())
    sheet = [label_for(ledger, uid, settings.keys_dir, passphrase, host, log_id) for uid in uids]
    for folder, suffix, render in ((png_dir, "png", png), (svg_dir, "svg", svg)):
        if folder is None:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        for uid, label in zip(uids, sheet, strict=True):
            data = render(label.payload)
            path = folder / f"{uid}.{suffix}"
            path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
    pages = label_sheet(sheet, out)
    console.print(f"{len(sheet)} labels on {pages} page(s): {out}")


def bundle_export(
    out: Annotated[Path, typer.Option("--out", help="the trust bundle file to write")] = Path("bundle.json"),
    host: HostOption = DEFAULT_HOST,
    peers: Annotated[bool, typer.Option("--peers", help="a multi-log bundle: this log's bundle and each current peer's, "
                                                        "fetched signed and verified, with the policy naming every log's key")] = False,
    require_all: Annotated[bool, typer.Option("--require-all", help="with --peers: exit 1 when a peer's bundle is missing "
                                                                    "(the bundle is written all the same)")] = False,
    policy: Annotated[Optional[Path], typer.Option("--policy", dir_okay=False, help="with --peers: the verifier policy the peers' "
                                                   "checkpoints must meet, and its witnesses and quorum in the bundle (default: $TRACEMARK_POLICY)")] = None,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Write an offline trust bundle signed by the log key: its host, parties, revoked keys, cosigned checkpoint, flagged and held items.

    With --peers, one document signed by the log key holds it, every current peer's bundle as the peer
    signed it, and the policy naming each log's key: a scanner that trusts this log's key verifies codes
    of every log in it. A peer that does not answer, or whose bundle does not verify, is named and left out."""
    from ledger import open_ledger
    from scanner.bundle import write_bundle, write_document

    settings = settings_from(db, home)
    if not peers:
        if require_all or policy is not None:
            raise fail("--require-all and --policy go with --peers")
        _describe_bundle(out, write_bundle(open_ledger(settings), out, host)["body"])
        return
    document = _multi_log_bundle(open_ledger(settings), read_policy(policy or settings.policy_path), host)
    write_document(document, out)
    body = document["body"]
    _describe_bundle(out, body["home"]["body"])
    for peer in body["peers"]:
        _describe_bundle(f"  and peer {peer['name']} ({peer['country']})", peer["bundle"]["body"])
    for missing in body["missing"]:
        err.print(f"[bold yellow]missing[/] peer {escape(missing['name'])} ({escape(missing['origin'])}): {escape(missing['problem'])}",
                  soft_wrap=True)
    if require_all and body["missing"]:
        raise typer.Exit(1)


def _multi_log_bundle(ledger: Ledger, policy: Policy | None, host: str) -> dict[str, Any]:
    from ledger import PeerClient
    from scanner.multilog import export_multi

    client = PeerClient.for_log(ledger.log_key, ledger.origin)
    try:
        return export_multi(ledger, client, policy, host)
    finally:
        client.close()


def _describe_bundle(where: object, body: dict[str, Any]) -> None:
    console.print(
        f"{where}: codes of {body['host']}, {len(body['parties'])} parties, {len(body['revoked_keys'])} revoked keys, "
        f"{len(body['flagged_items'])} flagged items, {len(body['held_items'])} held items, made {body['created_at']}; checkpoint of size "
        f"{body['checkpoint'].split(chr(10))[1]} with {body['checkpoint'].count(chr(0x2014))} signature lines"
    )


def scan(
    images: Annotated[list[Path], typer.Argument(help="photos of QR codes, or folders of them, or .tlog-proof files")],
    api: Annotated[Optional[str], typer.Option("--api", envvar="TRACEMARK_API", help="Tracemark API base URL (online mode)")] = None,
    key: Annotated[Optional[str], typer.Option("--key", envvar="TRACEMARK_API_KEY", help="API key of the scanning party")] = None,
    offline: Annotated[Optional[Path], typer.Option("--offline", help="verify against this trust bundle (one log's or multi-log), without network")] = None,
    country: Annotated[Optional[str], typer.Option("--country", help="where the scan happens (ISO 3166-1 alpha-2; online, default: the country of the key's party)")] = None,
    location: Annotated[str, typer.Option("--location", help="where the scan happens, for the inspection record")] = "tracemark scan",
    direction: Annotated[str, typer.Option("--direction", help="export, import, transit or inland")] = "transit",
    vkey: Annotated[Optional[str], typer.Option("--vkey", help="the log's verifier key (default: <home>/log.pub)")] = None,
    max_age_hours: Annotated[float, typer.Option("--max-age-hours", envvar="TRACEMARK_OFFLINE_MAX_AGE_HOURS", help="warn OFFLINE_DATA_STALE beyond this bundle age")] = 72.0,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line, for machines")] = False,
    policy: PolicyOption = None,
    home: HomeOption = None,
) -> None:
    """Decode QR codes from photos and print one verdict line per image (exit 1 unless all are VALID).

    A .tlog-proof file is verified offline instead (against --policy, or the log's key alone)."""
    import json

    from ledger import LOG_KEY_ONLY
    from scanner.proofs import is_proof, scan_proof
    from scanner.scan import expand_images, scan_image

    proofs = [path for path in images if path.is_file() and is_proof(path)]
    images = [path for path in images if path not in proofs]
    results = []
    if proofs:
        trust = read_policy(policy)
        results = [scan_proof(path, trust or LOG_KEY_ONLY, log_key_for(trust, vkey, home)) for path in proofs]
    if images:
        judge = _judge(api, key, offline, country, location, direction, vkey, max_age_hours, home, policy)
        paths = list(expand_images(images))
        if any(path.is_dir() for path in images):
            from tracemark.cli.common import progress_bar

            with progress_bar("scanning") as progress:
                for n, path in enumerate(paths, 1):
                    results.append(scan_image(path, judge))
                    progress(n, len(paths))
        else:
            results += [scan_image(path, judge) for path in paths]
    for result in results:
        typer.echo(json.dumps(result.to_json()) if as_json else result.line())
    if not results or any(result.verdict != "VALID" for result in results):
        raise typer.Exit(1)


def _judge(api, key, offline, country, location, direction, vkey, max_age_hours, home, policy):  # noqa: ANN001, ANN202
    """The verdict function of the chosen mode: exactly one of --api (with --key) or --offline."""
    if (api is None) == (offline is None):
        raise fail("give either --api URL --key KEY (online) or --offline bundle.json")
    if api is not None:
        from scanner.online import key_country, scan_online

        if key is None:
            raise fail("online scans need --key (the scanning party's API key)")
        where = country or key_country(api, key)
        return lambda code: scan_online(api, key, code, where, location, direction)
    from datetime import timedelta

    from ledger import utc_now
    from scanner.multilog import load_trust
    from scanner.offline import verify_offline

    trust = read_policy(policy)
    bundles = load_trust(offline, log_key_for(trust, vkey, home), trust)
    max_age = timedelta(hours=max_age_hours)
    return lambda code: verify_offline(code, bundles, utc_now(), max_age).to_json()




def register(app: typer.Typer) -> None:
    """Add the scanner's commands to the `tracemark` app."""
    app.command()(reported(labels))
    app.command()(reported(scan))
    bundle = typer.Typer(help="offline trust bundles", no_args_is_help=True)
    bundle.command("export")(reported(bundle_export))
    app.add_typer(bundle, name="bundle")
