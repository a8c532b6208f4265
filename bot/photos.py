"""Photos people send: fetched with media/get and kept under settings.files_dir.

Shared by every feature that takes photos (隐患, 随手拍): WeCom media ids expire after 3 days
(素材管理 "获取临时素材"), so a photo is downloaded as soon as it arrives. The callback must be
answered within 5 s, so that first try uses a short timeout and one attempt; if it fails the
photo is recorded as pending and the feature's retry job fetches it later. media/get answers
errors as JSON with HTTP 200: the client raises WeComAPIError for those, so an error body is
never stored as a photo.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.wecom.client import WeComAPIError, WeComClient

log = logging.getLogger(__name__)

MEDIA_LIFETIME = timedelta(days=3)
REQUEST_TIMEOUT = 2.0  # inside the callback (WeCom's 5 s answer deadline)
JOB_TIMEOUT = 5.0
RETRY_BATCH = 10
# A permanent error (e.g. 40007 invalid media id) is retried a few times, then given up.
MAX_PERMANENT_FAILURES = 3

EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
}


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to files_dir
    size: int
    content_type: str
    sha256: str


def quick_client(runtime, timeout: float = REQUEST_TIMEOUT) -> WeComClient:
    """A client sharing the runtime's token, with one short attempt per call."""
    return runtime.client.quick(min(timeout, runtime.settings.api_timeout))


def store_bytes(
    files_dir: str, data: bytes, content_type: str, folder: str = "hazards"
) -> StoredFile:
    """Write `data` as files_dir/<folder>/<sha[:2]>/<sha256><ext> (atomic; same bytes, one
    file)."""
    digest = hashlib.sha256(data).hexdigest()
    ctype = (content_type or "application/octet-stream").split(";")[0].strip().lower()
    rel = Path(folder) / digest[:2] / (digest + EXTENSIONS.get(ctype, ".bin"))
    target = Path(files_dir) / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return StoredFile(rel.as_posix(), len(data), ctype, digest)


def download(
    client: WeComClient, files_dir: str, media_id: str, folder: str = "hazards"
) -> StoredFile:
    """media/get and store; raises WeComAPIError (JSON error bodies included) or OSError."""
    data, ctype = client.download_media(media_id)
    if not data:
        raise WeComAPIError(None, "empty media")
    return store_bytes(files_dir, data, ctype, folder)


def fetch_now(runtime, media_id: str, folder: str = "hazards") -> tuple[StoredFile | None, str]:
    """One quick try inside a callback: (stored file, "") or (None, error text)."""
    try:
        client = quick_client(runtime)
        return download(client, runtime.settings.files_dir, media_id, folder), ""
    except (WeComAPIError, OSError) as exc:
        log.warning("media %s not downloaded now (%s); will retry", media_id, exc)
        return None, str(exc)[:500]


def photo_values(
    media_id: str,
    stored: StoredFile | None,
    error: str,
    now: datetime,
    received_at: datetime | None = None,
) -> dict:
    """Photo column values (HazardPhoto, SubmissionPhoto) for a photo fetched (or not) at `now`."""
    values = {"media_id": media_id, "received_at": received_at or now, "attempts": 1}
    if stored is None:
        values.update(status="pending", last_error=error)
    else:
        values.update(
            status="stored",
            path=stored.path,
            size=stored.size,
            content_type=stored.content_type,
            sha256=stored.sha256,
            stored_at=now,
        )
    return values


def retry_rows(
    photos: list, client: WeComClient, files_dir: str, now: datetime, folder: str = "hazards"
) -> str:
    """Fetch pending photo rows (any model with the photo columns); give up when the media id
    has expired or a permanent error repeats."""
    stored = failed = waiting = 0
    for photo in photos:
        if now - photo.received_at > MEDIA_LIFETIME:
            photo.status, photo.last_error = "failed", "media id expired (3 days)"
            failed += 1
            continue
        photo.attempts += 1
        try:
            f = download(client, files_dir, photo.media_id, folder)
        except (WeComAPIError, OSError) as exc:
            photo.last_error = str(exc)[:500]
            permanent = (
                isinstance(exc, WeComAPIError) and exc.errcode is not None and not exc.transient
            )
            if permanent and photo.attempts >= MAX_PERMANENT_FAILURES:
                photo.status = "failed"
                failed += 1
            else:
                waiting += 1
            continue
        photo.status, photo.path, photo.size = "stored", f.path, f.size
        photo.content_type, photo.sha256, photo.stored_at = f.content_type, f.sha256, now
        photo.last_error = None
        stored += 1
    return f"photos stored {stored}, failed {failed}, still pending {waiting}"
