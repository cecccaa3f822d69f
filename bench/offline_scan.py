"""Offline scanning throughput: photos decoded and verified per second, against decoding alone.

Builds a demo log, issues its codes, photographs them (rotated, noisy, JPEG) and times
`decode` alone and `decode` + `verify_offline` on the same images. The ratio shows what the
signature recovery and bundle look-ups cost on top of finding the code in the picture.

    python -m bench.offline_scan [--quick]
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench._common import Row, cli, note, temp_settings, timed
from ledger.config import init_log
from ledger.demo import run_demo
from ledger.log.codec import utc_now
from scanner.bundle import export_bundle, load_bundle
from scanner.decode import decode
from scanner.markings import issue_markings
from scanner.offline import verify_offline
from scanner.render import image


def _photo(text: str, n: int) -> Image.Image:
    rng = np.random.default_rng(n)
    code = image(text, module_px=6)
    sheet = Image.new("L", (code.width + 80, code.height + 80), 255)
    sheet.paste(code, (40, 40))
    sheet = sheet.rotate(float(rng.uniform(-30, 30)), expand=True, fillcolor=235)
    noisy = np.asarray(sheet, dtype=np.float32) + rng.normal(0, 12, (sheet.height, sheet.width))
    out = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(out, format="JPEG", quality=60)
    return Image.open(io.BytesIO(out.getvalue())).convert("L")


def run(quick: bool = False) -> dict[str, Any]:
    """Images/s decoded and verified offline against images/s decoded alone, on the same photos."""
    count = 40 if quick else 200
    note(f"offline_scan: {count} photographed codes, decoded alone then decoded and verified")
    with tempfile.TemporaryDirectory() as tmp:
        settings = temp_settings(Path(tmp))
        ledger = init_log(settings)
        result = run_demo(ledger, items=20)
        codes = [row.payload for row in issue_markings(ledger, {p: party.account for p, party in result.parties.items()})]
        bundle = load_bundle(export_bundle(ledger), ledger.log_key.verifier_key, ledger.origin)
        ledger.db.dispose()
    photos = [_photo(codes[n % len(codes)], n) for n in range(count)]
    decoded: list[Any] = []
    decode_s = timed(lambda: decoded.extend(decode(photo) for photo in photos))
    now = utc_now()
    verdicts: list[str] = []

    def decode_and_verify() -> None:
        for photo in photos:
            verdicts.extend(verify_offline(text, bundle, now).verdict for text in decode(photo).texts[:1])

    full_s = timed(decode_and_verify)
    read = sum(1 for d in decoded if d.texts)
    if read < count * 0.9 or verdicts.count("VALID") < read * 0.5:
        raise AssertionError(f"only {read} of {count} photos decoded, {verdicts.count('VALID')} of them VALID")
    full, alone = count / full_s, count / decode_s
    return {
        "quick": quick, "images": count, "decoded": read, "valid": verdicts.count("VALID"),
        "rows": [Row("offline QR verify (decode+signature+bundle)", full, "images/s", alone, "decode alone", ">= 0.7x", full >= 0.7 * alone)],
    }


if __name__ == "__main__":
    cli("offline_scan", run)
