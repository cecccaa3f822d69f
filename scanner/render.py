"""QR codes as PNG, SVG and a printable A4 sheet of labels (code + human-readable serial)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import qrcode
import qrcode.image.svg
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

__all__ = ["MAX_VERSION", "Label", "Placed", "qr_code", "image", "png", "svg", "label_layout", "label_sheet"]

MAX_VERSION = 10
"""Codes must print at about 2 cm; version 10 at error correction M is the ceiling."""
QUIET_ZONE = 4


@dataclass(frozen=True)
class Label:
    """One label: the code's text, the line a person reads under it, and (on a demo sheet) what the item went through."""

    payload: str
    caption: str
    scenario: str = ""


Box = tuple[float, float, float, float]
"""A rectangle on a page in PDF points: left, bottom, right, top."""


@dataclass(frozen=True)
class TextLine:
    text: str
    font: str
    size: float
    x: float
    """The line's left edge: lines are centred under their code."""
    y: float
    """The baseline."""


@dataclass(frozen=True)
class Placed:
    """Where one label goes on its page: the code's square and its text lines, wrapped to the code's width."""

    label: Label
    page: int
    code: Box
    lines: tuple[TextLine, ...]

    def text_box(self) -> Box:
        """The rectangle the label's text covers (ascent above each baseline, descent below)."""
        return (min(line.x for line in self.lines), min(line.y - 0.25 * line.size for line in self.lines),
                max(line.x + _width(line) for line in self.lines), max(line.y + 0.8 * line.size for line in self.lines))


def qr_code(text: str) -> qrcode.QRCode:
    """The smallest code for `text` at error correction M; ValueError beyond version 10."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(text)
    version = code.best_fit()
    if version > MAX_VERSION:
        raise ValueError(f"code needs QR version {version}, at most {MAX_VERSION} allowed: {text[:40]!r}...")
    code.make(fit=False)
    return code


def image(text: str, module_px: int = 8) -> Image.Image:
    """The code as a black-on-white Pillow image with `module_px` pixels per module."""
    code = qr_code(text)
    code.box_size = module_px
    return code.make_image().get_image().convert("L")


def png(text: str, module_px: int = 8) -> bytes:
    out = io.BytesIO()
    image(text, module_px).save(out, format="PNG")
    return out.getvalue()


def svg(text: str) -> str:
    """A scalable SVG of the code (path image: one element, prints crisply at any size)."""
    return qr_code(text).make_image(image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")


_CAPTION = ("Helvetica-Bold", 7.0)
_SCENARIO = ("Helvetica-Oblique", 6.5)
_MAX_LINES = 2
"""Lines of caption, and of scenario, under a code; a text longer still shrinks to fit them."""


def _width(line: TextLine) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return float(stringWidth(line.text, line.font, line.size))


def _wrapped(text: str, font: str, size: float, width: float) -> tuple[list[str], float]:
    """`text` split into at most `_MAX_LINES` lines of `width` points, at `size` or smaller."""
    from reportlab.lib.utils import simpleSplit

    while True:
        lines = simpleSplit(text, font, size, width)
        if len(lines) <= _MAX_LINES or size <= 4:
            return lines[:_MAX_LINES], size
        size -= 0.5


def label_layout(labels: Sequence[Label], code_mm: float = 30.0) -> list[Placed]:
    """Where every label goes on A4 pages: a grid of codes, each with its caption and scenario wrapped beneath."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm

    page_w, page_h = A4
    code = code_mm * mm
    margin, gap, text_h = 12 * mm, 5 * mm, 4 * _CAPTION[1] * 1.2 + 2 * mm
    cell_w, cell_h = code + gap, code + text_h + gap
    cols = int((page_w - 2 * margin + gap) // cell_w)
    per_page = cols * int((page_h - 2 * margin + gap) // cell_h)
    placed = []
    for n, label in enumerate(labels):
        page, (row, col) = n // per_page, divmod(n % per_page, cols)
        x, y = margin + col * cell_w, page_h - margin - row * cell_h - code
        lines, baseline = [], y - 1 * mm
        for text, (font, size) in ((label.caption, _CAPTION), (label.scenario, _SCENARIO)):
            if not text:
                continue
            split, size = _wrapped(text, font, size, code)
            for part in split:
                baseline -= size * 1.15
                line = TextLine(part, font, size, 0.0, baseline)
                lines.append(TextLine(part, font, size, x + (code - _width(line)) / 2, baseline))
        placed.append(Placed(label, page, (x, y, x + code, y + code), tuple(lines)))
    return placed


def label_sheet(labels: Sequence[Label], out: Path, code_mm: float = 30.0) -> int:
    """An A4 PDF of labels in a grid, each a code with its caption (and scenario); returns the page count."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(out), pagesize=A4)
    pdf.setTitle("Tracemark labels")
    layout = label_layout(labels, code_mm)
    pages = 1 + max((placed.page for placed in layout), default=0)
    for page in range(pages):
        for placed in (p for p in layout if p.page == page):
            left, bottom, right, top = placed.code
            pdf.drawImage(ImageReader(image(placed.label.payload, module_px=4)), left, bottom, right - left, top - bottom)
            for line in placed.lines:
                pdf.setFont(line.font, line.size)
                pdf.drawString(line.x, line.y, line.text)
        pdf.showPage()
    pdf.save()
    return pages
