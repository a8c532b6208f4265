"""The check-in QR code, drawn server-side as SVG with segno (pure Python, MIT).

With SAFETYBOT_PUBLIC_URL set, the code holds the one-scan link {public_url}/checkin/<code>
(bot.console.checkin_links): WeCom's scanner opens it, the person taps 「签到」. Without it,
the code holds the text "签到123456", which people send to the bot after a scan."""

from __future__ import annotations

import segno
from markupsafe import Markup


def checkin_text(code: str) -> str:
    # What the bot understands when typed or pasted after a scan: "签到123456".
    return f"签到{code}"


def checkin_link(public_url: str, code: str) -> str:
    """The one-scan link, or "" when the bot's public address is not set."""
    return f"{public_url.rstrip('/')}/checkin/{code}" if public_url else ""


def checkin_qr(code: str, public_url: str = "", scale: int = 8, fluid: bool = False) -> Markup:
    """Inline SVG; `code` is six digits from our own table (segno escapes nothing we pass).
    `fluid`: a viewBox instead of a fixed size, so that CSS scales the code (the poster)."""
    content = checkin_link(public_url, code) or checkin_text(code)
    qr = segno.make(content, error="m")
    return Markup(
        qr.svg_inline(scale=scale, border=2, svgclass="qr", title=f"签到码 {code}", omitsize=fluid)
    )
