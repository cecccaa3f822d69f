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

__all__ = ["MAX_VERSION", "Label", "qr_code", "image", "png", "svg", "label_sheet"]

MAX_VERSION = 10
"""Codes must print at about 2 cm; version 10 at error correction M is the ceiling."""
QUIET_ZONE = 4


@dataclass(frozen=True)
class Label:
    """One label: the code's text and the line a person reads under it."""

    payload: str
    caption: str


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


def label_sheet(labels: Sequence[Label], out: Path, code_mm: float = 30.0) -> int:
    """An A4 PDF of labels in a grid, each a code with its caption; returns the page count."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    page_w, page_h = A4
    margin, gap, caption_h = 12 * mm, 6 * mm, 8 * mm
    cell_w, cell_h = code_mm * mm + gap, code_mm * mm + caption_h + gap
    cols = int((page_w - 2 * margin + gap) // cell_w)
    rows = int((page_h - 2 * margin + gap) // cell_h)
    per_page = cols * rows
    pdf = canvas.Canvas(str(out), pagesize=A4)
    pdf.setTitle("Tracemark labels")
    pages = 0
    for start in range(0, len(labels), per_page):
        pages += 1
        for n, label in enumerate(labels[start : start + per_page]):
            col, row = n % cols, n // cols
            x = margin + col * cell_w
            y = page_h - margin - (row + 1) * cell_h + caption_h + gap
            pdf.drawImage(ImageReader(image(label.payload, module_px=4)), x, y, code_mm * mm, code_mm * mm)
            pdf.setFont("Helvetica-Bold", 7)
            pdf.drawCentredString(x + code_mm * mm / 2, y - 4 * mm, label.caption[:40])
        pdf.showPage()
    pdf.save()
    return pages
