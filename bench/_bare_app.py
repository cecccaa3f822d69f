"""The HTTP baselines: bare FastAPI endpoints doing the least the Tracemark routes must do.

`/bare` parses the scan's JSON body and answers a constant verdict (for bench.scan);
`/insert` parses an event envelope and inserts it as one durable SQLite row (WAL,
synchronous=FULL, like the ledger) into the file named by `BENCH_BARE_DB` (for bench.http_append).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from functools import cache
from typing import Any

from fastapi import FastAPI

app = FastAPI()
_lock = threading.Lock()


@cache
def _connection() -> sqlite3.Connection:
    con = sqlite3.connect(os.environ["BENCH_BARE_DB"], isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE IF NOT EXISTS entry (seq INTEGER PRIMARY KEY, event BLOB, signer TEXT, signature TEXT)")
    return con


@app.post("/bare")
def bare(body: dict[str, Any]) -> dict[str, Any]:
    return {"verdict": "VALID", "code": body.get("code")}


@app.post("/insert", status_code=201)
def insert(envelope: dict[str, Any]) -> dict[str, Any]:
    with _lock:
        cursor = _connection().execute("INSERT INTO entry (event, signer, signature) VALUES (?, ?, ?)",
                                       (json.dumps(envelope["event"]).encode(), envelope["signer"], envelope["signature"]))
    return {"seq": cursor.lastrowid}
