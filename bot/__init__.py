"""safetybot core: app factory, settings, WeCom adapter, router, storage."""

__version__ = "0.1.0"
