"""The investigator's commands: trace one item, rank diversion hotspots, export EPCIS 2.0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ledger import open_ledger
from tracemark.cli.common import DbOption, HomeOption, console, progress_bar, reported, settings_from

__all__ = ["register"]

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]


def trace(
    ref: Annotated[str, typer.Argument(metavar="ITEM", help="the item's ULID, or its serial")],
    maker: Annotated[Optional[str], typer.Option("--maker", help="the party that marked the serial (when several did)")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """The item's chain of custody with proofs, its diversion point and time-to-crime."""
    from api.judging import headline
    from ledger import item_uid, trace_item

    ledger = open_ledger(settings_from(db, home))
    uid = item_uid(ledger, ref, maker)
    found = trace_item(ledger, uid).to_json() | headline(ledger, uid)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    table = Table("seq", "time (UTC)", "event", title=f"{found['kind']} {uid} ({found['status']})")
    for column in ("by", "what", "proof"):
        table.add_column(column, overflow="fold")
    for step in found["steps"]:
        when = step["time"][:16].replace("T", " ")  # to the minute, so that the table fits 80 columns
        table.add_row(str(step["seq"]), when, step["type"], step["actor"], step["summary"], "yes" if step["proof"] is not None else "pending")
    console.print(table)
    colour = "green" if found["verdict"] == "VALID" else "bold red"
    console.print(f"verdict: [{colour}]{found['verdict']}[/]: {found['advice']}")
    diversion = found["diversion"]
    if diversion is None:
        console.print("[green]no diversion[/]: the item is in the legal chain")
    else:
        console.print(f"[bold red]diversion[/] at entry {diversion['seq']} ({diversion['kind']}): {diversion['detail']}")
        console.print(f"last legitimate custodian: [bold]{diversion['last_legit_custodian']}[/]")
    if found["time_to_crime_days"] is not None:
        flag = " [bold red](under three years)[/]" if found["time_to_crime_flagged"] else ""
        console.print(f"time-to-crime: {found['time_to_crime_days']} days{flag}")
    for question in found["open_questions"]:
        console.print(f"[yellow]open question[/]: {question}")


def investigate(
    since: Annotated[Optional[str], typer.Option("--since", help="diversions at or after this RFC 3339 time")] = None,
    country: Annotated[Optional[str], typer.Option("--country", help="diverted from or found in this country (ISO alpha-2)")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help="firearm, specimen, or a diversion kind (theft, loss, seizure, ...)")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Parties ranked by the lost, stolen or seized items they last legitimately held; routes; permits."""
    from ledger import investigate as run

    findings = run(open_ledger(settings_from(db, home)), since=since, country=country, kind=kind)
    if as_json:
        typer.echo(json.dumps(findings.to_json(), indent=2))
        return
    hotspots = Table("party", "items", "median time-to-crime (days)", title="last legitimate custodians of diverted items")
    for spot in findings.hotspots:
        hotspots.add_row(spot.party, str(spot.items), "-" if spot.median_time_to_crime_days is None else f"{spot.median_time_to_crime_days:g}")
    routes = Table("from", "found in", "items", title="routes of flagged items")
    for route in findings.routes:
        routes.add_row(route.origin, route.found, str(route.items))
    permits = Table("permit", "specimens seized", title="permits whose specimens turned up seized")
    for permit in findings.permits:
        permits.add_row(permit.permit, str(permit.seized))
    for table in (hotspots, routes, permits):
        console.print(table)


def export_epcis(
    out: Annotated[Optional[Path], typer.Option("--out", help="file to write (default: standard output)")] = None,
    item: Annotated[Optional[str], typer.Option("--item", help="only this item's events")] = None,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Every event of the log as an EPCIS 2.0 JSON-LD document, with proofs as an extension."""
    from ledger import epcis_document

    with progress_bar("EPCIS events") as progress:
        document = epcis_document(open_ledger(settings_from(db, home)), item=item, progress=progress)
    text = json.dumps(document, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text)
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add the investigation commands to the `tracemark` app."""
    app.command()(reported(trace))
    app.command()(reported(investigate))
    export = typer.Typer(help="export the log in other formats", no_args_is_help=True)
    export.command("epcis")(reported(export_epcis))
    app.add_typer(export, name="export")
