"""Running a WSGI server in the foreground until Ctrl+C or SIGTERM (serve and the demo)."""

from __future__ import annotations

import signal


def serve_until_signal(server) -> None:
    """Run the waitress server until Ctrl+C or SIGTERM (docker stop, systemd, gunicorn-style)."""

    def stop(*_):
        # Signal handlers run in the main thread, which is inside server.run(): unwind it.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except (KeyboardInterrupt, OSError):
        pass
    finally:
        server.close()
