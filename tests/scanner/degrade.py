"""Sixteen ways a photo of a printed code goes wrong, made from a real code with Pillow and numpy."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

RNG_SEED = 20261123


def _rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


def _on_paper(code: Image.Image, pad: int = 40) -> Image.Image:
    """The code on a white sheet, as it would be photographed."""
    sheet = Image.new("L", (code.width + 2 * pad, code.height + 2 * pad), 255)
    sheet.paste(code, (pad, pad))
    return sheet


def _rotate(degrees: float) -> Callable[[Image.Image], Image.Image]:
    return lambda code: _on_paper(code).rotate(degrees, resample=Image.BICUBIC, expand=True, fillcolor=255)


def _jpeg(quality: int) -> Callable[[Image.Image], Image.Image]:
    def apply(code: Image.Image) -> Image.Image:
        out = io.BytesIO()
        _on_paper(code).save(out, format="JPEG", quality=quality)
        return Image.open(io.BytesIO(out.getvalue())).convert("L")

    return apply


def _perspective(code: Image.Image) -> Image.Image:
    sheet = _on_paper(code, pad=80)
    w, h = sheet.size
    # the sheet seen from below and to the side: the top edge shrinks, the right side recedes
    quad = (0.12 * w, 0.0, 0.0, h, w, 0.92 * h, 0.86 * w, 0.05 * h)
    return sheet.transform((w, h), Image.QUAD, quad, resample=Image.BICUBIC, fillcolor=255)


def _low_contrast(code: Image.Image) -> Image.Image:
    """Grey print on grey paper, and a grainy sensor: 20 grey levels of signal under noise of 15."""
    a = np.asarray(_on_paper(code), dtype=np.float32)
    grainy = 120 + a * (20 / 255) + _rng().normal(0, 15, a.shape)
    return Image.fromarray(np.clip(grainy, 0, 255).astype(np.uint8))


def _gaussian_noise(code: Image.Image) -> Image.Image:
    a = np.asarray(_on_paper(code), dtype=np.float32)
    noisy = a + _rng().normal(0, 45, a.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _salt_and_pepper(code: Image.Image) -> Image.Image:
    a = np.array(_on_paper(code))
    mask = _rng().random(a.shape)
    a[mask < 0.2] = 0  # two pixels in five dead or stuck
    a[mask > 0.8] = 255
    return Image.fromarray(a)


def _small_modules(code: Image.Image) -> Image.Image:
    small = code.resize((code.width // 4, code.height // 4), Image.NEAREST)  # 2 px per module
    return _on_paper(small, pad=10)


def _uneven_light(code: Image.Image) -> Image.Image:
    a = np.asarray(_on_paper(code), dtype=np.float32)
    h, w = a.shape
    shade = np.linspace(1.0, 0.35, w)[None, :] * np.linspace(1.0, 0.7, h)[:, None]
    return Image.fromarray(np.clip(a * shade, 0, 255).astype(np.uint8))


def _glare(code: Image.Image) -> Image.Image:
    a = np.asarray(_on_paper(code), dtype=np.float32)
    h, w = a.shape
    y, x = np.mgrid[0:h, 0:w]
    spot = np.exp(-(((x - 0.3 * w) ** 2 + (y - 0.3 * h) ** 2) / (2 * (0.12 * w) ** 2)))
    return Image.fromarray(np.clip(a + 150 * spot, 0, 255).astype(np.uint8))


def _cluttered(code: Image.Image) -> Image.Image:
    """A photo-like scene: textured background, random shapes and text, the label tilted in it."""
    rng = _rng()
    w, h = code.width * 3, code.height * 2
    base = rng.normal(128, 30, (h // 8, w // 8)).clip(0, 255).astype(np.uint8)
    scene = Image.fromarray(base).resize((w, h), Image.BICUBIC).filter(ImageFilter.GaussianBlur(3))
    draw = ImageDraw.Draw(scene)
    for _ in range(60):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        size = int(rng.integers(10, 80))
        shade = int(rng.integers(0, 255))
        if rng.random() < 0.5:
            draw.rectangle((x, y, x + size, y + size // 2), fill=shade)
        else:
            draw.ellipse((x, y, x + size, y + size), outline=shade, width=3)
        draw.text((x, y), "LOT 42 / 9x19", fill=255 - shade)
    label = _on_paper(code, pad=24).rotate(8, resample=Image.BICUBIC, expand=True, fillcolor=200)
    scene.paste(label, (w // 3, h // 6))
    return scene


def _pixelated(code: Image.Image) -> Image.Image:
    sheet = _on_paper(code)
    return sheet.resize((sheet.width * 3 // 10, sheet.height * 3 // 10), Image.BILINEAR).resize(sheet.size, Image.BILINEAR)


def _inverted(code: Image.Image) -> Image.Image:
    return Image.eval(_on_paper(code), lambda v: 255 - v)


DEGRADATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "clean": _on_paper,
    "rotated_15": _rotate(15),
    "rotated_45": _rotate(45),
    "blurred": lambda code: _on_paper(code).filter(ImageFilter.GaussianBlur(2.5)),
    "motion_blur": lambda code: _on_paper(code).filter(ImageFilter.BoxBlur(3)),
    "jpeg_q30": _jpeg(30),
    "jpeg_q10": _jpeg(10),
    "perspective_skew": _perspective,
    "low_contrast": _low_contrast,
    "gaussian_noise": _gaussian_noise,
    "salt_and_pepper": _salt_and_pepper,
    "small_modules": _small_modules,
    "uneven_light": _uneven_light,
    "glare": _glare,
    "cluttered_background": _cluttered,
    "pixelated": _pixelated,
}
assert len(DEGRADATIONS) == 16
