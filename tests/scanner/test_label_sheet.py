"""The demo's printable label sheet: texts wrapped so none overlaps another or a code, each demo story's
label says what its item went through, and every code on the printed page still decodes."""

from __future__ import annotations

import itertools
from pathlib import Path

import pypdfium2 as pdfium
import zxingcpp

from ledger.config import Settings
from ledger.demo import DEMO_PASSPHRASE, STORIES
from scanner.markings import demo_labels
from scanner.render import Box, label_layout, label_sheet
from tests.scanner.conftest import make_demo

SCALE = 3  # pixels per PDF point of the rendered page


def _apart(one: Box, other: Box) -> bool:
    return one[2] <= other[0] or other[2] <= one[0] or one[3] <= other[1] or other[3] <= one[1]


def test_the_demo_sheet_has_no_overlapping_text_says_each_story_and_every_code_decodes(tmp_path: Path) -> None:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'demo.db'}", home=tmp_path / "home", origin="test.tracemark.local/log")
    demo = make_demo(settings, items=2)
    labels = demo_labels(demo.ledger, settings.keys_dir, DEMO_PASSPHRASE)
    assert sorted(label.scenario for label in labels if label.scenario) == sorted(STORIES[story] for story in demo.result.items if story in STORIES)
    assert any(len(label.caption) > 30 for label in labels)  # the CITES tags' long captions are on the sheet

    layout = label_layout(labels)
    for page in {placed.page for placed in layout}:
        boxes = [box for placed in layout if placed.page == page for box in (placed.code, placed.text_box())]
        overlapping = [(a, b) for a, b in itertools.combinations(boxes, 2) if not _apart(a, b)]
        assert not overlapping
    for placed in layout:
        assert len(placed.lines) <= 4 and placed.text_box()[2] - placed.text_box()[0] <= placed.code[2] - placed.code[0] + 0.01

    out = tmp_path / "labels.pdf"
    assert label_sheet(labels, out) == 1 + max(placed.page for placed in layout)
    document = pdfium.PdfDocument(str(out))
    try:
        pages = [document[n].render(scale=SCALE).to_pil().convert("L") for n in range(len(document))]
        _, height = document[0].get_size()
    finally:
        document.close()
    pages[0].save(tmp_path / "page-1.png")
    for placed in layout:
        left, bottom, right, top = placed.code
        crop = pages[placed.page].crop((int(left * SCALE) - 10, int((height - top) * SCALE) - 10,
                                        int(right * SCALE) + 10, int((height - bottom) * SCALE) + 10))
        assert [found.text for found in zxingcpp.read_barcodes(crop)] == [placed.label.payload], placed.label.caption
