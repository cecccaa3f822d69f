"""The scanner's online mode: `POST /v1/scan` on a Tracemark API with the party's API key."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from scanner.errors import ScannerError

__all__ = ["ApiRefused", "scan_online"]


class ApiRefused(ScannerError):
    """The API refused the scan or could not be reached; the message carries its problem detail."""


def scan_online(api: str, key: str, code: str, country: str, location: str, direction: str = "transit",
                timeout: float = 10.0) -> dict[str, Any]:
    """The API's scan answer (verdict, reasons, item, custody, proof...) for scanned text `code`."""
    body = json.dumps({"code": code, "country": country, "location": location, "direction": direction}).encode()
    request = urllib.request.Request(
        api.rstrip("/") + "/v1/scan",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the URL is the user's API
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ApiRefused(f"{api} answered {exc.code}: {_problem(exc)}") from exc
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise ApiRefused(f"cannot reach {api}: {exc}") from exc


def _problem(exc: urllib.error.HTTPError) -> str:
    try:
        problem = json.loads(exc.read())
        return str(problem.get("detail") or problem.get("title") or problem)
    except ValueError:
        return exc.reason
