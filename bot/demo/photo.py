"""The demo's sample hazard photo: a corridor whose fire extinguisher is blocked by stacked
cartons (楼道堆放杂物, 遮挡灭火器), drawn in code and encoded as a PNG.

No image library: shapes are filled into an RGB buffer, then lit (a ceiling light at the top
left, a vignette like a phone camera's) and given sensor noise, so the photo in the hazard
ledger and the console looks like a photo rather than a dot. Deterministic: same bytes every
time.
"""

from __future__ import annotations

import functools
import math
import random
import struct
import zlib

WIDTH, HEIGHT = 320, 240
HORIZON = 150  # where the wall meets the floor


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = [[(0.0, 0.0, 0.0)] * width for _ in range(height)]

    def fill(self, x0: int, y0: int, x1: int, y1: int, colour, shade=None) -> None:
        """Fill [x0, x1) x [y0, y1); `shade(x, y)` scales the colour (cylinders, faces)."""
        for y in range(max(0, y0), min(self.height, y1)):
            row = self.pixels[y]
            for x in range(max(0, x0), min(self.width, x1)):
                k = shade(x, y) if shade else 1.0
                row[x] = (colour[0] * k, colour[1] * k, colour[2] * k)

    def polygon(self, points: list[tuple[float, float]], colour) -> None:
        """Fill a convex polygon (scanline: the span between its edges on each row)."""
        ys = [p[1] for p in points]
        for y in range(max(0, int(min(ys))), min(self.height, int(max(ys)) + 1)):
            xs = []
            for (ax, ay), (bx, by) in zip(points, points[1:] + points[:1], strict=True):
                if ay != by and min(ay, by) <= y < max(ay, by):
                    xs.append(ax + (y - ay) * (bx - ax) / (by - ay))
            if len(xs) >= 2:
                self.fill(int(min(xs)), y, int(max(xs)) + 1, y + 1, colour)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, darken: float) -> None:
        for y in range(max(0, int(cy - ry)), min(self.height, int(cy + ry) + 1)):
            for x in range(max(0, int(cx - rx)), min(self.width, int(cx + rx) + 1)):
                d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2
                if d < 1:
                    r, g, b = self.pixels[y][x]
                    k = 1 - darken * (1 - d)
                    self.pixels[y][x] = (r * k, g * k, b * k)


def _scene() -> _Canvas:
    c = _Canvas(WIDTH, HEIGHT)
    # Wall (painted, slightly warm) and a dark skirting board.
    c.fill(0, 0, WIDTH, HORIZON, (206, 198, 180), lambda x, y: 0.92 + 0.08 * y / HORIZON)
    c.fill(0, HORIZON - 8, WIDTH, HORIZON, (112, 104, 96))
    # Floor tiles in perspective: grout lines converge on a vanishing point above the door.
    vx, vy = 200.0, 60.0

    def floor(x: int, y: int) -> float:
        depth = (y - vy) / (HEIGHT - vy)
        u = vx + (x - vx) / depth
        v = 40.0 / depth
        grout = (u % 64) < 3 or (v % 24) < 1.2
        return 0.62 if grout else 0.9 + 0.1 * depth

    c.fill(0, HORIZON, WIDTH, HEIGHT, (168, 166, 158), floor)
    # A yellow safety line along the wall.
    c.polygon([(0, 168), (WIDTH, 156), (WIDTH, 160), (0, 174)], (222, 186, 40))
    # Fire door on the right, with its push bar and a green exit sign above it.
    c.fill(236, 48, 300, HORIZON - 2, (120, 138, 128), lambda x, y: 0.95 - 0.1 * (x - 236) / 64)
    c.fill(240, 52, 296, HORIZON - 6, (132, 150, 140))
    c.fill(244, 100, 292, 104, (190, 190, 186))
    c.fill(246, 28, 290, 42, (24, 140, 72))
    c.fill(252, 32, 260, 38, (235, 245, 235))
    c.fill(264, 33, 284, 37, (235, 245, 235))
    # Fire-extinguisher sign and the extinguisher on its bracket (a red cylinder).
    c.fill(62, 30, 96, 50, (200, 30, 30))
    c.fill(74, 34, 84, 46, (246, 240, 236))
    c.fill(70, 66, 88, 70, (60, 60, 64))

    def cylinder(x: int, y: int) -> float:
        t = (x - 66) / 26 * math.pi
        return 0.45 + 0.65 * max(0.0, math.sin(t)) ** 0.8

    c.fill(66, 70, 92, 136, (200, 28, 24), cylinder)
    c.fill(72, 60, 86, 70, (40, 40, 44))  # valve and handle
    c.fill(84, 62, 98, 65, (40, 40, 44))
    c.fill(94, 64, 97, 110, (30, 30, 32))  # hose
    c.fill(70, 92, 88, 104, (236, 232, 210))  # label
    # Cartons stacked in front of it, half hiding it: shadows first, then faces and tape.
    c.ellipse(104, 200, 86, 16, 0.45)
    boxes = [(34, 118, 112, 186), (96, 136, 178, 204), (8, 92, 56, 118)]
    for x0, y0, x1, y1 in boxes:
        depth = 12
        c.polygon(
            [(x0, y0), (x0 + depth, y0 - depth), (x1 + depth, y0 - depth), (x1, y0)],
            (196, 150, 100),
        )
        c.polygon(
            [(x1, y0), (x1 + depth, y0 - depth), (x1 + depth, y1 - depth), (x1, y1)], (128, 90, 56)
        )
        c.fill(
            x0, y0, x1, y1, (172, 126, 80), lambda x, y, x0=x0: 0.93 + 0.07 * ((x - x0) % 17) / 17
        )
        mid = (x0 + x1) // 2
        c.fill(mid - 4, y0, mid + 4, y1, (206, 176, 126))  # packing tape
        c.fill(x0 + 8, y0 + 10, x0 + 26, y0 + 22, (60, 50, 40))  # printed mark
    return c


def _develop(c: _Canvas) -> bytes:
    """Light, vignette and noise, as raw PNG scanlines (filter byte 0, RGB)."""
    noise = random.Random(20250601)
    lx, ly = WIDTH * 0.25, -40.0
    reach = math.hypot(WIDTH, HEIGHT)
    rows = bytearray()
    for y in range(c.height):
        rows.append(0)
        for x in range(c.width):
            r, g, b = c.pixels[y][x]
            light = 1.08 - 0.35 * math.hypot(x - lx, y - ly) / reach
            edge = ((x - WIDTH / 2) / (WIDTH / 2)) ** 2 + ((y - HEIGHT / 2) / (HEIGHT / 2)) ** 2
            k = light * (1 - 0.18 * edge)
            grain = noise.gauss(0, 3.0)
            rows.extend(
                max(0, min(255, int(v * k + grain + 0.5))) for v in (r * 1.0, g * 0.99, b * 0.96)
            )
    return bytes(rows)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def sample_photo() -> bytes:
    """The PNG file's bytes (320 x 240)."""
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(_develop(_scene()), 9))
        + _chunk(b"IEND", b"")
    )
