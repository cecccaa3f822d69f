"""A hot route's own request plumbing: its JSON body and its answer, without FastAPI's per-request work.

On every request FastAPI solves a route's dependencies, parses and validates its body, and
validates its answer again against `response_model`. On `/v1/scan` that was a sixth of a scan's
server CPU (1.12-1.16 -> 0.96-1.07 ms, two processes under 50 clients). A route
that takes the `Request` alone keeps what FastAPI gave it through these: the 422 problem FastAPI
raises for a bad body (`read_body`), the body in OpenAPI (`documented_body`, `install`), and the
JSON answer (`answer`). Every other route stays plain FastAPI: this is for the hot path only.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

__all__ = ["documented_body", "read_body", "answer", "install"]

_Model = TypeVar("_Model", bound=BaseModel)

_COMPONENTS = "#/components/schemas/"
_BODIES: dict[str, type[BaseModel]] = {}
"""The models `documented_body` named, which `install` adds to an app's OpenAPI components."""


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """A route's `openapi_extra` saying it takes `model` as its JSON body, as a `model` parameter would."""
    _BODIES[model.__name__] = model
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": _COMPONENTS + model.__name__}}}}}


async def read_body(request: Request, model: type[_Model]) -> _Model:
    """The request's JSON body as `model`; a body that is missing, not JSON or not valid raises the
    `RequestValidationError` FastAPI would have, its locations under `body`."""
    raw = await request.body()
    if not raw:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    try:
        data = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        position = getattr(exc, "pos", getattr(exc, "start", 0))
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", position), "msg": "JSON decode error",
                                       "input": {}, "ctx": {"error": str(exc)}}]) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)],
                                     body=data) from exc


def answer(model: BaseModel) -> Response:
    """`model` as the JSON FastAPI would have sent for it, without validating it again."""
    return Response(model.model_dump_json(), media_type="application/json")


def install(app: FastAPI) -> None:
    """Put the models of `documented_body` in `app`'s OpenAPI components, beside those FastAPI found."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = generate().setdefault("components", {}).setdefault("schemas", {})
            for name, model in _BODIES.items():
                schema = model.model_json_schema(ref_template=_COMPONENTS + "{model}")
                for nested, definition in schema.pop("$defs", {}).items():
                    schemas.setdefault(nested, definition)
                schemas.setdefault(name, schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
