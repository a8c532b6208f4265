"""Hazard photos: the download and storage are core (bot.photos); this is the retry job for
hazard photos whose download failed inside the callback."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import HazardPhoto
from bot.photos import (  # noqa: F401 - the names hazard code has always used
    EXTENSIONS,
    JOB_TIMEOUT,
    MAX_PERMANENT_FAILURES,
    MEDIA_LIFETIME,
    REQUEST_TIMEOUT,
    RETRY_BATCH,
    StoredFile,
    download,
    fetch_now,
    photo_values,
    quick_client,
    retry_rows,
    store_bytes,
)
from bot.wecom.client import WeComClient

log = logging.getLogger(__name__)


def retry_pending(
    session: Session, runtime, now: datetime, client: WeComClient | None = None
) -> str:
    """The retry job: fetch pending photos; give up when the media id has expired."""
    photos = list(
        session.scalars(
            select(HazardPhoto)
            .where(HazardPhoto.status == "pending")
            .order_by(HazardPhoto.id)
            .limit(RETRY_BATCH)
        )
    )
    if not photos:
        return "no pending photos"
    client = client or quick_client(runtime, JOB_TIMEOUT)
    return retry_rows(photos, client, runtime.settings.files_dir, now)
