"""The API's own errors (auth, limits); ledger errors keep their types and are mapped in `api.problems`."""

from __future__ import annotations

__all__ = [
    "ApiError", "Unauthorized", "DuplicateCredentials", "RepeatedParameter", "UnknownParameter", "Forbidden",
    "RoleNotAdmitted", "BodyTooLarge", "BodyTooDeep", "KeyNotFound",
]


class ApiError(Exception):
    """Base class of errors raised by the api package; `status` and `slug` name the problem."""

    status = 400
    slug = "bad-request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(ApiError):
    """No API key, an unknown one, or a revoked one."""

    status = 401
    slug = "unauthorized"


class DuplicateCredentials(ApiError):
    """More than one `Authorization` header: which one counts would be a guess, so none does."""

    status = 400
    slug = "duplicate-credentials"


class RepeatedParameter(ApiError):
    """A query parameter named twice: a proxy may read one value and the route another, so neither counts."""

    status = 400
    slug = "repeated-parameter"


class UnknownParameter(ApiError):
    """A query parameter the route does not take: a misspelt filter must not be silently ignored."""

    status = 400
    slug = "unknown-parameter"


class Forbidden(ApiError):
    """The caller's role may not call this endpoint or act for that party."""

    status = 403
    slug = "forbidden"


class RoleNotAdmitted(Forbidden):
    """The caller's role is not among those a route admits (as opposed to an item beyond its reach)."""


class BodyTooLarge(ApiError):
    """A body longer than its route's cap, or than the anonymous cap before the caller is known."""

    status = 413
    slug = "body-too-large"


class BodyTooDeep(ApiError):
    """A body whose brackets nest deeper than any request needs (a recursive parser must never see it)."""

    status = 422
    slug = "body-too-deep"


class KeyNotFound(ApiError):
    status = 404
    slug = "not-found/api-key"
