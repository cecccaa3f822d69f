"""Tracemark's HTTP API: `create_app(settings)` builds the FastAPI service over one ledger."""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - re-export without importing FastAPI at package import
    from api.app import create_app as factory

    return factory(*args, **kwargs)
