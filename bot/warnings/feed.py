"""Polling a CAP feed over HTTP: one GET (plus one per linked alert), bounded in size and time.

The fetch runs outside any database transaction (scheduler JobSpec.prefetch), so a slow feed
never holds a lock; every failure becomes an error string, never an exception.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests

from bot.warnings.cap import MAX_DOCUMENT_BYTES, CapAlert, CapError, parse_alert, parse_feed

log = logging.getLogger(__name__)

MAX_LINKED_ALERTS = 20


@dataclass
class FetchResult:
    alerts: list[CapAlert] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _get(http: requests.Session, url: str, timeout: float) -> bytes:
    with http.get(
        url,
        timeout=timeout,
        stream=True,
        headers={
            "Accept": "application/cap+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.1"
        },
    ) as res:
        res.raise_for_status()
        data = b""
        for chunk in res.iter_content(64 * 1024):
            data += chunk
            if len(data) > MAX_DOCUMENT_BYTES:
                raise CapError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
        return data


def fetch_feed(
    url: str, timeout: float = 10.0, http: requests.Session | None = None
) -> FetchResult:
    result = FetchResult()
    http = http or requests.Session()
    try:
        feed = parse_feed(_get(http, url, timeout))
    except (CapError, requests.RequestException) as exc:
        log.warning("CAP feed %s skipped: %s", url, exc)
        result.errors.append(f"{url}: {exc}")
        return result
    result.alerts.extend(feed.alerts)
    result.errors.extend(feed.errors)
    for link in feed.links[:MAX_LINKED_ALERTS]:
        target = urljoin(url, link)
        try:
            result.alerts.append(parse_alert(_get(http, target, timeout)))
        except (CapError, requests.RequestException) as exc:
            log.warning("CAP alert %s skipped: %s", target, exc)
            result.errors.append(f"{target}: {exc}")
    for error in feed.errors:
        log.warning("CAP feed %s: entry skipped: %s", url, error)
    return result
