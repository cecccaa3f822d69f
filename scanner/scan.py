"""Scanning photos: find the code in each image, ask a judge (offline bundle or API) for a verdict."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.decode import decode, open_image
from scanner.errors import ScannerError

__all__ = ["IMAGE_SUFFIXES", "NO_CODE", "ERROR", "ImageVerdict", "expand_images", "scan_image"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
NO_CODE = "NO_CODE_FOUND"
ERROR = "SCAN_ERROR"

Judge = Callable[[str], dict[str, Any]]
"""Turns a code's text into a verdict document with at least `verdict`."""


@dataclass(frozen=True)
class ImageVerdict:
    """One line of `tracemark scan`: the image, the code found in it and the judge's answer."""

    image: str
    verdict: str
    code: str | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    decoded_by: str | None = None
    detail: str | None = None

    def line(self) -> str:
        answer = self.answer
        item = answer.get("item")
        uid = item.get("uid") if isinstance(item, dict) else item
        parts = [self.image, self.verdict]
        if uid:
            parts.append(str(uid))
        facts = answer.get("facts") or (item.get("facts") if isinstance(item, dict) else None)
        if facts:
            parts.append(" ".join(str(value) for key, value in facts.items() if key != "kind"))
        if answer.get("log"):
            parts.append(f"log:{answer['log']}")  # whose bundle judged it, where one holds several logs
        warnings = answer.get("warnings") or []
        if warnings:
            parts.append("warn:" + ",".join(warnings))
        if self.detail:
            parts.append(self.detail)
        elif answer.get("reasons"):
            first = answer["reasons"][0]
            parts.append(first.get("detail", ""))
        return "  ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"image": self.image, "verdict": self.verdict, "code": self.code, "decoded_by": self.decoded_by,
                "detail": self.detail, "answer": self.answer}


def expand_images(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given; directories as their image files, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def scan_image(path: Path, judge: Judge) -> ImageVerdict:
    """Decode the code in `path` and judge it; an unreadable file or no code is a verdict line too."""
    try:
        found = decode(open_image(path))
    except ScannerError as exc:
        return ImageVerdict(str(path), ERROR, detail=str(exc))
    if not found.texts:
        return ImageVerdict(str(path), NO_CODE, detail="no QR code found, even after binarising and filtering")
    code = found.texts[0]
    try:
        answer = judge(code)
    except ScannerError as exc:
        return ImageVerdict(str(path), ERROR, code=code, decoded_by=found.found_by, detail=str(exc))
    extra = f"{len(found.texts) - 1} more code(s) in the image" if len(found.texts) > 1 else None
    return ImageVerdict(str(path), str(answer.get("verdict")), code, answer, found.found_by, extra)
