"""Small made-up photos for the training world, drawn without any image library and stored as PNG.

A "before" picture shows a street with something wrong on it (a heap of rubbish, a traffic cone);
an "after" picture shows the same kind of street cleared. Each reference gets one of a few variants
(by a hash of the reference), so the demo's thousands of photo references share a handful of stored
images: the photo store keeps each content once.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from workstation.services import photos

WIDTH, HEIGHT = 240, 180
VARIANTS = 6
_SKIES = [(135, 185, 230), (170, 200, 225), (200, 215, 230), (120, 170, 220), (185, 205, 215), (150, 190, 235)]
_WALLS = [(196, 160, 120), (170, 170, 175), (210, 195, 170), (160, 120, 100), (190, 190, 160), (150, 160, 175)]


def _png(width: int, height: int, pixels: bytearray) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    stride = width * 3
    raw = b"".join(b"\x00" + bytes(pixels[y * stride : (y + 1) * stride]) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(width * height * 3)

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        x0, x1 = max(0, x0), min(self.width, x1)
        line = bytes(colour) * max(0, x1 - x0)
        for y in range(max(0, y0), min(self.height, y1)):
            at = (y * self.width + x0) * 3
            self.pixels[at : at + len(line)] = line

    def ellipse(self, cx: int, cy: int, rx: int, ry: int, colour: tuple[int, int, int]) -> None:
        for dy in range(-ry, ry + 1):
            half = int(rx * (1 - (dy / ry) ** 2) ** 0.5)
            self.rect(cx - half, cy + dy, cx + half + 1, cy + dy + 1, colour)

    def triangle(self, cx: int, top: int, bottom: int, half: int, colour: tuple[int, int, int]) -> None:
        for y in range(top, bottom):
            w = half * (y - top) // max(1, bottom - top)
            self.rect(cx - w, y, cx + w + 1, y + 1, colour)


@lru_cache(maxsize=2 * VARIANTS)
def picture(variant: int, kind: str) -> bytes:
    """One made-up street photo as PNG bytes: ``kind`` "before" (with a problem) or "after" (cleared)."""
    v = variant % VARIANTS
    c = _Canvas(WIDTH, HEIGHT)
    sky = _SKIES[v]
    for band in range(6):  # the sky, lighter towards the horizon
        shade = tuple(min(255, part + band * 6) for part in sky)
        c.rect(0, band * 20, WIDTH, band * 20 + 20, shade)  # type: ignore[arg-type]
    wall = _WALLS[v]
    c.rect(0, 40 + v * 3, 150 + v * 10, 120, wall)
    for wx in range(12, 140 + v * 10, 34):  # windows
        for wy in (52 + v * 3, 86):
            c.rect(wx, wy, wx + 20, wy + 18, (70, 95, 120))
    c.rect(0, 120, WIDTH, HEIGHT, (120, 120, 118))  # the road
    c.rect(0, 116, WIDTH, 122, (200, 200, 195))  # the kerb
    for lx in range(10, WIDTH, 50):
        c.rect(lx, 150, lx + 26, 154, (235, 235, 235))
    if kind == photos.BEFORE:
        heap = (110, 85, 55)
        c.ellipse(150 + v * 8, 128, 44, 16, heap)
        c.ellipse(132 + v * 8, 118, 20, 12, (95, 110, 70))
        c.ellipse(170 + v * 8, 120, 16, 10, (60, 70, 80))
        c.rect(120 + v * 8, 110, 136 + v * 8, 128, (230, 230, 225))  # a white bag
        c.triangle(60 + v * 12, 96, 132, 12, (235, 100, 30))  # a traffic cone
        c.rect(48 + v * 12, 112, 72 + v * 12, 117, (250, 250, 250))
    else:
        c.ellipse(200 - v * 6, 108, 22, 14, (70, 140, 70))  # a tidy bush
        c.rect(196 - v * 6, 108, 204 - v * 6, 122, (100, 75, 50))
    return _png(WIDTH, HEIGHT, c.pixels)


def picture_for(ref: str, kind: str) -> bytes:
    """The picture a demo reference shows (the same reference always shows the same one)."""
    return picture(zlib.crc32(ref.encode("utf-8")) % VARIANTS, kind)


def store_for_cases(s: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Store pictures for the ``photo://`` references of case rows (``photos``, ``result_photos``); returns how many."""
    items = []
    for row in rows:
        for field, kind in (("photos", photos.BEFORE), ("result_photos", photos.AFTER)):
            for ref in row.get(field) or []:
                if photos.scheme(ref) == "photo":
                    items.append((ref, picture_for(ref, kind)))
    return photos.put_many(s, items)
