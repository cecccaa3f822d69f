"""The appending process of bench.signed_log: grows a real signed log and reports as it goes.

Run in its own process so its RSS is the appender's alone. It signs 1,000 `mark_firearm`
events (untimed), appends them in one batch (timed) and prints one JSON line per batch:
log size, seconds spent appending that batch, current RSS and peak RSS in MB. It stops at
`events` or after `seconds` of wall time, whichever comes first.

    python -m bench._appender FOLDER EVENTS SECONDS
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bench._common import peak_rss_mb, rss_mb, temp_settings, timed
from bench._log import bench_log, signed_marks
from ledger.log.keys import new_account

BATCH = 1000


def grow(folder: Path, events: int, seconds: float) -> None:
    maker = new_account()
    ledger = bench_log(temp_settings(folder), maker)
    stop = time.monotonic() + seconds
    done = 0
    while done < events and time.monotonic() < stop:
        envelopes = signed_marks(maker, min(BATCH, events - done), f"G{done:09d}")
        spent = timed(lambda: ledger.append_batch(envelopes))
        done += len(envelopes)
        print(json.dumps({"events": done, "append_s": spent, "rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb()}), flush=True)
    ledger.db.dispose()


if __name__ == "__main__":
    grow(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
