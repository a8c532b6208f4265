"""The check-in code as a QR code, drawn server-side as SVG with segno (pure Python, MIT)."""

from __future__ import annotations

import segno
from markupsafe import Markup


def checkin_text(code: str) -> str:
    # What the bot understands when typed or pasted after a scan: "签到123456".
    return f"签到{code}"


def checkin_qr(code: str, scale: int = 8) -> Markup:
    """Inline SVG; `code` is six digits from our own table (segno escapes nothing we pass)."""
    qr = segno.make(checkin_text(code), error="m")
    return Markup(qr.svg_inline(scale=scale, border=2, svgclass="qr", title=f"签到码 {code}"))
