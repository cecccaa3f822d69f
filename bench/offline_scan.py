"""Offline scanning throughput: photos decoded and verified per second, against decoding alone.

Builds a demo log, issues its codes, photographs them (rotated, noisy, JPEG) and times
`decode` alone and `decode` + `verify_offline` on the same images. The ratio shows what the
signature recovery and bundle look-ups cost on top of finding the code in the picture.

    python -m bench.offline_scan [--images 200]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ledger.codec import utc_now
from ledger.config import Settings, init_log
from ledger.demo import run_demo
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db_url=f"sqlite:///{Path(tmp) / 'bench.db'}", home=Path(tmp) / "home", origin="bench.tracemark.local/log")
        ledger = init_log(settings)
        result = run_demo(ledger, items=20)
        codes = [row.payload for row in issue_markings(ledger, {p: party.account for p, party in result.parties.items()})]
        bundle = load_bundle(export_bundle(ledger), ledger.log_key.verifier_key, ledger.origin)
        ledger.db.dispose()
    photos = [_photo(codes[n % len(codes)], n) for n in range(args.images)]

    start = time.perf_counter()
    decoded = [decode(photo) for photo in photos]
    decode_s = time.perf_counter() - start

    now = utc_now()
    start = time.perf_counter()
    verdicts = []
    for photo in photos:
        found = decode(photo)
        verdicts.extend(verify_offline(text, bundle, now).verdict for text in found.texts[:1])
    full_s = time.perf_counter() - start

    read = sum(1 for d in decoded if d.texts)
    print(f"images            {len(photos)} ({read} decoded, {verdicts.count('VALID')} VALID, {len(verdicts) - verdicts.count('VALID')} flagged)")
    print(f"decode only       {len(photos) / decode_s:8.1f} images/s")
    print(f"decode + verify   {len(photos) / full_s:8.1f} images/s")
    print(f"ratio             {decode_s / full_s:8.3f}  (1.0 = verification is free)")


if __name__ == "__main__":
    main()
