"""Activity photos: chat photos arrive as WeCom media ids and a job fetches them (media ids
live 3 days, 素材管理 "获取临时素材"); console uploads are stored at once. Files go under
settings.files_dir/activities/, named by their SHA-256 (same bytes, one file)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import ActivityPhoto
from bot.photos import store_bytes
from bot.wecom.client import WeComAPIError

MEDIA_LIFETIME = timedelta(days=3)
BATCH = 10
MAX_ATTEMPTS = 5
MAX_BYTES = 5 * 1024 * 1024
# The first bytes of the image kinds accepted from the console.
MAGIC = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}


def sniff(data: bytes) -> str | None:
    """The image type of `data` by its first bytes (the browser's word is not taken)."""
    for magic, ctype in MAGIC.items():
        if data.startswith(magic):
            return ctype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def store(files_dir: str, data: bytes, content_type: str) -> str:
    """Write the bytes (core photo storage, in the activities folder); the relative path."""
    return store_bytes(files_dir, data, content_type, folder="activities").path


def add_upload(
    session: Session, files_dir: str, report_id: int, data: bytes, now: datetime
) -> ActivityPhoto | None:
    """A photo uploaded in the console; None if it is not an image or too large."""
    ctype = sniff(data)
    if ctype is None or len(data) > MAX_BYTES:
        return None
    photo = ActivityPhoto(
        report_id=report_id,
        status="stored",
        path=store(files_dir, data, ctype),
        content_type=ctype,
        received_at=now,
    )
    session.add(photo)
    return photo


def fetch_pending(session: Session, services, now: datetime) -> str:
    """The job: fetch chat photos still pending; give up on expired media ids."""
    pending = list(
        session.scalars(
            select(ActivityPhoto)
            .where(ActivityPhoto.status == "pending")
            .order_by(ActivityPhoto.id)
            .limit(BATCH)
        )
    )
    if not pending:
        return "no pending activity photos"
    client = services.client.quick(min(5.0, services.settings.api_timeout))
    stored = failed = 0
    for photo in pending:
        if now - photo.received_at > MEDIA_LIFETIME or not photo.media_id:
            photo.status, photo.last_error = "failed", "media id expired (3 days)"
            failed += 1
            continue
        photo.attempts += 1
        try:
            data, ctype = client.download_media(photo.media_id)
            ctype = (ctype or "").split(";")[0].strip().lower()
            path = store(services.settings.files_dir, data, ctype)
        except (WeComAPIError, OSError) as exc:
            photo.last_error = str(exc)[:500]
            if photo.attempts >= MAX_ATTEMPTS:
                photo.status = "failed"
                failed += 1
            continue
        photo.status, photo.path, photo.content_type, photo.last_error = "stored", path, ctype, None
        stored += 1
    return f"activity photos stored {stored}, failed {failed}"
