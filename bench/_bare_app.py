"""The baseline for bench.scan: a bare FastAPI endpoint that parses the same JSON body and answers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.post("/bare")
def bare(body: dict[str, Any]) -> dict[str, Any]:
    return {"verdict": "VALID", "code": body.get("code")}
