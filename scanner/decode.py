"""Finding QR codes in photos with zxing-cpp, retrying harder when the first pass finds nothing.

Pass 1 is zxing's default (local-average binariser, rotations, downscaling, inversion). Glare
and uneven light defeat it less often than blur and sensor noise, so pass 2 uses a fixed
threshold and pass 3 a median filter (which removes speckle but keeps module edges).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from scanner.errors import UnreadableImage

__all__ = ["Decoding", "PASSES", "open_image", "decode"]


@dataclass(frozen=True)
class Decoding:
    """The QR texts found in an image and the pass that found them (None if nothing was found)."""

    texts: tuple[str, ...]
    found_by: str | None


def _read(image: Image.Image, binarizer: zxingcpp.Binarizer) -> list[str]:
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode, binarizer=binarizer)
    return [barcode.text for barcode in found if barcode.valid]


def _median(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.MedianFilter(5))


def _stretched_median(image: Image.Image) -> Image.Image:
    return ImageOps.autocontrast(_median(image), cutoff=1)


PASSES: tuple[tuple[str, Callable[[Image.Image], Image.Image], zxingcpp.Binarizer], ...] = (
    ("local_average", lambda image: image, zxingcpp.Binarizer.LocalAverage),
    ("fixed_threshold", ImageOps.autocontrast, zxingcpp.Binarizer.FixedThreshold),
    ("median_filter", _median, zxingcpp.Binarizer.LocalAverage),
    ("median_fixed_threshold", _stretched_median, zxingcpp.Binarizer.FixedThreshold),
)


def open_image(path: Path) -> Image.Image:
    """A grey-scale image from a file; UnreadableImage if it is not one."""
    try:
        with Image.open(path) as image:
            return ImageOps.exif_transpose(image).convert("L")
    except (OSError, UnidentifiedImageError) as exc:
        raise UnreadableImage(f"{path}: not an image ({exc})") from exc


def decode(image: Image.Image) -> Decoding:
    """Every QR text in `image`, from the first pass that finds any."""
    grey = image.convert("L")
    for name, prepare, binarizer in PASSES:
        texts = _read(prepare(grey), binarizer)
        if texts:
            return Decoding(tuple(dict.fromkeys(texts)), name)
    return Decoding((), None)
