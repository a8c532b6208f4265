"""A fake of the WeCom API: a real HTTP server on 127.0.0.1 for tests, benchmarks and the demo."""

from bot.fake_wecom.server import FakeWeCom

__all__ = ["FakeWeCom"]
