"""RFC 9457 problem details: every error leaves the API as `application/problem+json`.

Each failure has a stable `type` URI under PROBLEMS (rule refusals name their rule), a `title`
that is the same for every instance of the type, and a `detail` a person understands.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from api.errors import ApiError
from ledger import (
    CheckpointError,
    EventFailed,
    EventInvalid,
    LedgerError,
    NotFound,
    PeerRefused,
    PeerUnreachable,
    ProofError,
    RuleViolation,
    SignatureError,
    StoreError,
    TraceAnswerRefused,
)

__all__ = ["PROBLEMS", "MEDIA_TYPE", "Problem", "problem", "ledger_problem", "api_problem", "install", "PROBLEM_RESPONSES"]

PROBLEMS = "https://tracemark.dev/problems/"
MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details, with the members Tracemark adds to say where the problem is."""

    type: str = Field(examples=[PROBLEMS + "rule-violation/not_custodian"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = Field(default=None, description="the request or event field that is wrong")
    rule: str | None = Field(default=None, description="the ledger rule that refused the event")
    index: int | None = Field(default=None, description="position of the refused event in a batch")
    errors: list[dict[str, Any]] | None = Field(default=None, description="every validation error")


def _doc(description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem, "content": {MEDIA_TYPE: {}}}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("more than one Authorization header"),
    401: _doc("no API key, or an unknown or revoked one"),
    403: _doc("the caller's role may not do this"),
    404: _doc("no such item, party, permit or entry"),
    409: _doc("refused by a ledger rule; nothing was appended"),
    413: _doc("the request body is too large"),
    422: _doc("the request or the event is malformed, its body nests too deeply, or a signature does not verify"),
    429: _doc("this API key made too many write or scan requests; retry after `Retry-After` seconds"),
    503: _doc("the database is unreachable"),
}


def _problem(request: Request | None, status: int, slug: str, title: str, detail: str, **extra: Any) -> Problem:
    return Problem(type=PROBLEMS + slug, title=title, status=status, detail=detail,
                   instance=None if request is None else request.url.path, **extra)


def _response(body: Problem) -> JSONResponse:
    return JSONResponse(body.model_dump(exclude_none=True), status_code=body.status, media_type=MEDIA_TYPE)


def problem(request: Request | None, status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    return _response(_problem(request, status, slug, title, detail, **extra))


def ledger_problem(request: Request | None, exc: Exception) -> Problem:
    """The problem a ledger error stands for: sent as problem+json, or shown on a page that says what went wrong."""
    index = getattr(exc, "index", None)
    if isinstance(exc, RuleViolation):
        return _problem(request, 409, f"rule-violation/{exc.rule}", "Refused by a ledger rule", exc.detail, rule=exc.rule, index=index)
    if isinstance(exc, EventInvalid):
        return _problem(request, 422, "event-invalid", "The event is malformed", str(exc), field=exc.field, index=index)
    if isinstance(exc, SignatureError):
        return _problem(request, 422, f"signature/{exc.code}", "The signature is not accepted", exc.detail, index=index)
    if isinstance(exc, NotFound):
        what = str(exc.what).replace(" ", "-")
        return _problem(request, 404, f"not-found/{what}", "Not found", str(exc))
    if isinstance(exc, TraceAnswerRefused):
        return _problem(request, 422, "trace-answer-refused", "The trace answer does not verify", exc.detail)
    if isinstance(exc, (PeerUnreachable, PeerRefused)):
        return _problem(request, 502, "peer-unavailable", "The peer log did not answer usably", str(exc))
    if isinstance(exc, ProofError):
        return _problem(request, 422, "proof-range", "No proof for these sizes", str(exc))
    if isinstance(exc, EventFailed):
        return _problem(request, 500, "event-failed", "The server failed judging the event", str(exc), index=index)
    if isinstance(exc, (StoreError, CheckpointError)):
        return _problem(request, 503, "log-unavailable", "The log cannot answer", str(exc))
    return _problem(request, 500, "internal", "Internal error", f"{type(exc).__name__}: {exc}")


def _ledger_error(request: Request, exc: Exception) -> JSONResponse:
    return _response(ledger_problem(request, exc))


def api_problem(request: Request | None, exc: ApiError) -> JSONResponse:
    """The problem an `ApiError` stands for: also sent by middleware, outside the app's handlers.
    Its title is the name of the class that gives the problem its type, so one type has one title
    (RoleNotAdmitted is titled Forbidden)."""
    title = next(cls.__name__ for cls in type(exc).__mro__ if "slug" in vars(cls))
    return problem(request, exc.status, exc.slug, title, exc.detail)


def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return api_problem(request, exc)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    field = first["field"].removeprefix("body.").removeprefix("body") or None
    return problem(request, 422, "validation", "The request is not valid", f"{first['field']}: {first['message']}",
                   field=field, errors=errors)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, f"http-{exc.status_code}")
    response = problem(request, exc.status_code, slug, str(exc.detail), str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def _database(request: Request, exc: Exception) -> JSONResponse:
    reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
    return problem(request, 503, "database-unavailable", "The database is unreachable", reason)


def _internal(request: Request, exc: Exception) -> JSONResponse:
    return problem(request, 500, "internal", "Internal error", f"{type(exc).__name__}: the server failed; see its log")


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(Exception, _internal)
