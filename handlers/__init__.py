"""Feature handlers: one module per feature, each with `register(router)`.

A handler is `(message, ctx) -> Reply | None` (commands also get their argument text); it
returns the reply and never sends. Add a feature by adding its module to FEATURES.
"""

from __future__ import annotations

import importlib

from bot.router import Router

FEATURES = [
    "handlers.help",
    "handlers.hazard",
    "handlers.suggestion",
    "handlers.warning",
    "handlers.pledge",
    "handlers.checkin",
    "handlers.quiz",
    "handlers.console_cli",
]


def build_router(features: list[str] | None = None) -> Router:
    router = Router()
    for name in features or FEATURES:
        importlib.import_module(name).register(router)
    return router
