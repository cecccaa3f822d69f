"""Pages for people answer in HTML: a caller who is not signed in is sent to the sign-in page.

A route whose `api.access` row takes the login cookie is a page a browser opens. On such a route
a missing or refused key becomes a redirect to `/investigations/login` that says why and brings
the user back afterwards, and any other refusal (an item beyond the caller's reach, a bad filter,
an unknown item) is an HTML page saying what is wrong, never problem+json. A program that sends
its key in an `Authorization` header still gets problem+json, as from every other route.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from api.access import ACCESS, COOKIE, Access
from api.errors import ApiError, RoleNotAdmitted, Unauthorized
from ledger import LedgerError, NotFound

__all__ = ["PageRoute", "SignIn", "LOGIN", "sign_in_url", "safe_next", "invalid", "templates"]

LOGIN = "/investigations/login"
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


class SignIn(StrEnum):
    """Why the sign-in page is shown: each reason has the sentence the page prints."""

    SIGNED_OUT = "signed-out"
    REJECTED = "rejected"
    ROLE = "role"
    BYE = "bye"

    @classmethod
    def named(cls, text: str | None) -> SignIn | None:
        """The reason a sign-in address names, if it names one."""
        return next((why for why in cls if why.value == text), None)

    @property
    def message(self) -> str:
        return {
            SignIn.SIGNED_OUT: "Sign in to continue.",
            SignIn.REJECTED: "That key was not accepted: it is unknown, revoked or mistyped.",
            SignIn.ROLE: "That key was not accepted: these pages open with an investigator's, police or customs key.",
            SignIn.BYE: "You are signed out.",
        }[self]


def safe_next(target: str | None) -> str | None:
    """`target` when it is a page of this service under /investigations/ (never another site)."""
    if target and target.startswith("/investigations/") and not target.startswith(LOGIN) and "//" not in target and "\\" not in target:
        return target
    return None


def sign_in_url(why: SignIn, back_to: str | None = None) -> str:
    """The sign-in page saying `why`, returning to `back_to` once signed in."""
    query = {"why": why.value} | ({"next": back_to} if safe_next(back_to) else {})
    return f"{LOGIN}?{urlencode(query)}"


def _requested(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _page_refusal(request: Request, exc: Exception) -> Response:
    """The answer a browser gets for a refusal on a page."""
    if isinstance(exc, Unauthorized):
        why = SignIn.REJECTED if request.cookies.get(COOKIE) else SignIn.SIGNED_OUT
        response: Response = RedirectResponse(sign_in_url(why, _requested(request)), status_code=303)
        if why is SignIn.REJECTED:
            response.delete_cookie(COOKIE)
        return response
    if isinstance(exc, RoleNotAdmitted) and request.method == "GET":  # a page the key's role never opens; an action it may not take is a 403 page
        response = RedirectResponse(sign_in_url(SignIn.ROLE, _requested(request)), status_code=303)
        response.delete_cookie(COOKIE)
        return response
    status = exc.status if isinstance(exc, ApiError) else 404 if isinstance(exc, NotFound) else 422
    detail = exc.detail if isinstance(exc, ApiError) else invalid(exc) if isinstance(exc, RequestValidationError) else str(exc)
    return templates.TemplateResponse(request, "investigations/problem.html", {"status": status, "detail": detail}, status_code=status)


def invalid(exc: RequestValidationError | ValidationError) -> str:
    """What is wrong with a request's fields, one `field: message` each."""
    return "; ".join(f"{error['loc'][-1]}: {error['msg']}" for error in exc.errors()) or "the address is not valid"


class PageRoute(APIRoute):
    """An APIRoute that answers a page's refusals in HTML (see the module's docstring); other routes are untouched."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not any(ACCESS.get(f"{method} {self.path}", Access()).cookie for method in self.methods):
            return handler

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (ApiError, LedgerError, RequestValidationError) as exc:
                if "authorization" in request.headers:
                    raise
                return _page_refusal(request, exc)

        return page_handler
