"""The scanner's online mode: `POST /v1/scan` on a Tracemark API with the party's API key."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from scanner.errors import ScannerError

__all__ = ["ApiRefused", "scan_online", "key_country"]


class ApiRefused(ScannerError):
    """The API refused the scan or could not be reached; the message carries its problem detail."""


def scan_online(api: str, key: str, code: str, country: str, location: str, direction: str = "transit",
                timeout: float = 10.0) -> dict[str, Any]:
    """The API's scan answer (verdict, reasons, item, custody, proof...) for scanned text `code`."""
    body = json.dumps({"code": code, "country": country, "location": location, "direction": direction}).encode()
    return _call(api, key, "/v1/scan", body, timeout)


def key_country(api: str, key: str, timeout: float = 10.0) -> str:
    """The country of the party `key` speaks for (`GET /v1/me`): where its scans happen unless said otherwise."""
    return str(_call(api, key, "/v1/me", None, timeout)["country"])


def _call(api: str, key: str, path: str, body: bytes | None, timeout: float) -> dict[str, Any]:
    """The JSON answer of `path` on the API (a POST of `body`, or a GET without one) with `key`."""
    headers = {"Accept": "application/json", "Authorization": f"Bearer {key}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(api.rstrip("/") + path, data=body, method="GET" if body is None else "POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the URL is the user's API
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ApiRefused(f"{api} answered {exc.code}: {_problem(exc)}") from exc
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ApiRefused(f"cannot reach {api}: {reason}") from exc


def _problem(exc: urllib.error.HTTPError) -> str:
    try:
        problem = json.loads(exc.read())
        return str(problem.get("detail") or problem.get("title") or problem)
    except ValueError:
        return exc.reason
