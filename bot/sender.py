"""Drains the outbox through the WeCom API.

Claim, send, record are three steps so that no database lock is held during an HTTP call
(on SQLite that would stall every incoming message):
1. claim: new due deliveries are formed into batches (OutboxBatch: at most 1000 recipients
   of one message, in order) once; members over WeCom's 30 messages/minute are deferred to
   the next minute before that, instead of being silently dropped by WeCom. Due batches get a
   lease (PostgreSQL: FOR UPDATE SKIP LOCKED, so several senders never claim the same rows);
2. send: one message/send call per batch, with enable_duplicate_check. A batch is never
   re-formed, so every retry is the byte-identical request JSON that WeCom's duplicate
   check recognises: a member who got it the first time does not get it again;
3. record: sent (less invaliduser/unlicenseduser) / pending with backoff / dead with the reason.
A sender killed between 1 and 3 leaves leased batches that are claimed again when the lease
runs out, and resent identical.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, insert, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db import chunks, is_postgres, transaction, upsert_insert
from bot.models import MemberSendCount, OutboundMessage, OutboxBatch, OutboxDelivery
from bot.wecom.client import (
    IP_NOT_ALLOWED,
    MAX_RECIPIENTS,
    TOKEN_ERRORS,
    WeComAPIError,
    WeComClient,
)

log = logging.getLogger(__name__)

MEMBER_LIMIT_PER_MINUTE = 30  # WeCom: 每应用对同一个成员不可超过30次/分，超过部分会被丢弃
ROBOT_LIMIT_PER_MINUTE = 20  # group robot webhook: 20 messages/minute
MAX_ATTEMPTS = 8
HOLD_BACKOFF = timedelta(minutes=10)
HELD_PREFIX = "held: "  # last_error of batches held for a set-up error (outbox.held_batches)


@dataclass(frozen=True)
class Claimed:
    """A leased batch: its recipients in the order they are sent, and the attempt number."""

    batch_id: int
    message_id: int
    recipients: list[str]
    attempts: int


@dataclass
class Outcome:
    batch: Claimed
    status: str  # sent | retry | dead
    error: str | None = None
    # recipients WeCom reported as not delivered (invaliduser / unlicenseduser) -> reason
    undelivered: dict[str, str] = field(default_factory=dict)
    msgid: str = ""  # what message/send answered (for message/recall)


@dataclass
class DrainStats:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    retried: int = 0
    dead: int = 0
    api_calls: int = 0


# Only one sender forms batches at a time (PostgreSQL advisory lock, held to the end of the
# claim transaction). Without it two senders scanning the same new deliveries with SKIP
# LOCKED each take the rows the other has not locked yet, and one push to 12 members goes
# out as two calls (seen as 4 quiz calls in 3 days, #21.11).
FORMATION_LOCK_ID = 0x5AFE_0B07


def backoff(attempts: int) -> timedelta:
    """Jittered exponential backoff: ~5 s, 10 s, 20 s … capped at 10 minutes."""
    base = min(600.0, 5.0 * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=base * random.uniform(0.75, 1.25))


class OutboxSender:
    def __init__(
        self,
        factory: sessionmaker[Session],
        client: WeComClient,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        claim_limit: int = 5000,
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.factory = factory
        self.client = client
        self.clock = clock
        self.claim_limit = claim_limit
        self.lease = lease

    # -- 1. claim ------------------------------------------------------------------------
    def _claim(self, now: datetime) -> tuple[list[Claimed], int]:
        """Form batches from new deliveries, then lease the batches that are due.

        (leased batches with their new attempt count, how many deliveries were deferred)."""
        with transaction(self.factory) as s:
            deferred = self._form_batches(s, now)
            q = (
                select(
                    OutboxBatch.id,
                    OutboxBatch.message_id,
                    OutboxBatch.recipients,
                    OutboxBatch.attempts,
                )
                .where(
                    OutboxBatch.status == "pending",
                    OutboxBatch.next_attempt_at <= now,
                    or_(OutboxBatch.lease_until.is_(None), OutboxBatch.lease_until < now),
                )
                .order_by(OutboxBatch.id)
                .limit(max(1, self.claim_limit // 100))
            )
            if is_postgres(s):
                q = q.with_for_update(skip_locked=True)
            batches = [Claimed(i, m, list(r), a + 1) for i, m, r, a in s.execute(q)]
            for chunk in chunks([b.batch_id for b in batches], 1000):
                s.execute(
                    update(OutboxBatch)
                    .where(OutboxBatch.id.in_(chunk))
                    .values(lease_until=now + self.lease, attempts=OutboxBatch.attempts + 1)
                )
            return batches, deferred

    def _form_batches(self, s: Session, now: datetime) -> int:
        """New due deliveries become batches of at most 1000 recipients per message, in
        delivery order. The per-member limit is applied here, before the first attempt: a
        batch that may already have been delivered is never split afterwards."""
        q = (
            select(
                OutboxDelivery.id,
                OutboxDelivery.message_id,
                OutboxDelivery.userid,
                OutboxDelivery.attempts,
            )
            .where(
                OutboxDelivery.status == "pending",
                OutboxDelivery.batch_id.is_(None),
                OutboxDelivery.next_attempt_at <= now,
            )
            .order_by(OutboxDelivery.id)
            .limit(self.claim_limit)
        )
        if is_postgres(s):
            # Wait (milliseconds: forming is a few statements) rather than skip: a sender that
            # skipped would find nothing to claim and stop draining. Keyed by schema, so bots
            # (or test runs) sharing a database in different schemas do not wait on each other.
            s.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), :id)"),
                {"id": FORMATION_LOCK_ID},
            )
            q = q.with_for_update(skip_locked=True)
        rows = [tuple(r) for r in s.execute(q)]
        if not rows:
            return 0
        kinds = dict(
            s.execute(
                select(OutboundMessage.id, OutboundMessage.kind).where(
                    OutboundMessage.id.in_({r[1] for r in rows})
                )
            ).all()
        )
        allowed, deferred = self._apply_rate_limit(s, rows, kinds, now)
        window_end = _minute(now) + timedelta(minutes=1)
        for chunk in chunks([r[0] for r in deferred], 1000):
            s.execute(
                update(OutboxDelivery)
                .where(OutboxDelivery.id.in_(chunk))
                .values(next_attempt_at=window_end)
            )
        by_message: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for delivery_id, message_id, userid, _ in allowed:
            by_message[message_id].append((delivery_id, userid))
        for message_id, items in by_message.items():
            # Each robot key is its own webhook, each recalled msgid its own call: one per key.
            size = 1 if kinds.get(message_id) in ("robot", "recall") else MAX_RECIPIENTS
            for batch in chunks(items, size):
                batch_id = s.execute(
                    insert(OutboxBatch)
                    .values(
                        message_id=message_id,
                        recipients=[u for _, u in batch],
                        status="pending",
                        attempts=0,
                        created_at=now,
                        next_attempt_at=now,
                    )
                    .returning(OutboxBatch.id)
                ).scalar_one()
                s.execute(
                    update(OutboxDelivery)
                    .where(OutboxDelivery.id.in_([d for d, _ in batch]))
                    .values(batch_id=batch_id)
                )
        return len(deferred)

    def _apply_rate_limit(self, s: Session, rows, kinds, now: datetime):
        window = _minute(now)
        per_user: dict[str, int] = defaultdict(int)
        for _, message_id, userid, _ in rows:
            per_user[_limit_key(kinds.get(message_id), userid)] += 1
        counts: dict[str, int] = {}
        items = list(per_user.items())
        for chunk in chunks(items, 1000):
            ins = upsert_insert(s, MemberSendCount)
            stmt = ins.values([{"userid": k, "window_start": window, "count": n} for k, n in chunk])
            stmt = stmt.on_conflict_do_update(
                index_elements=["userid", "window_start"],
                set_={"count": MemberSendCount.count + stmt.excluded.count},
            ).returning(MemberSendCount.userid, MemberSendCount.count)
            counts.update({k: c for k, c in s.execute(stmt)})
        # Among this claim's rows for one member, the earliest ones take the free slots.
        allowed, deferred = [], []
        seen: dict[str, int] = defaultdict(int)
        for row in rows:
            key = _limit_key(kinds.get(row[1]), row[2])
            limit = ROBOT_LIMIT_PER_MINUTE if key.startswith("robot:") else MEMBER_LIMIT_PER_MINUTE
            before = counts[key] - per_user[key]  # sent earlier in this minute
            seen[key] += 1
            (allowed if before + seen[key] <= limit else deferred).append(row)
        if deferred:
            # Give back the slots the deferred rows did not use.
            over: dict[str, int] = defaultdict(int)
            for row in deferred:
                over[_limit_key(kinds.get(row[1]), row[2])] += 1
            for key, n in over.items():
                s.execute(
                    update(MemberSendCount)
                    .where(MemberSendCount.userid == key, MemberSendCount.window_start == window)
                    .values(count=MemberSendCount.count - n)
                )
        return allowed, deferred

    # -- 2. send + 3. record -----------------------------------------------------------------
    def drain_once(self) -> DrainStats:
        now = self.clock()
        stats = DrainStats()
        claimed, stats.deferred = self._claim(now)
        stats.claimed = sum(len(b.recipients) for b in claimed)
        if not claimed:
            return stats
        with self.factory() as s:
            messages = {
                m.id: m
                for m in s.scalars(
                    select(OutboundMessage).where(
                        OutboundMessage.id.in_({b.message_id for b in claimed})
                    )
                )
            }
        outcomes = [self._send_batch(messages[b.message_id], b, stats) for b in claimed]
        self._record(outcomes, stats)
        if random.random() < 0.05:
            self._prune_counters(now)
        return stats

    def _send_batch(self, message: OutboundMessage, batch: Claimed, stats: DrainStats) -> Outcome:
        """Send one batch: the same request every time it is tried."""
        users = batch.recipients
        stats.api_calls += 1
        try:
            if message.kind == "update_card":
                payload = message.payload
                self.client.update_template_card(payload["response_code"], payload["card"], users)
                return Outcome(batch, "sent")
            if message.kind == "robot":
                self.client.robot_send(users[0], message.payload)
                return Outcome(batch, "sent")
            if message.kind == "recall":  # the "recipient" is the msgid to recall
                self.client.recall_message(users[0])
                return Outcome(batch, "sent")
            result = self.client.send_message(
                batch_payload(message.payload, batch.batch_id),
                users,
                duplicate_check=message.duplicate_check,
            )
        except WeComAPIError as exc:
            reason = f"{exc.errcode}: {exc.errmsg}"[:500]
            if exc.errcode == IP_NOT_ALLOWED:
                # A set-up error, not the message's: hold everything until an admin adds the
                # server's address to 企业可信IP, then it goes out. Never dead for this.
                log.error(
                    "WeCom refuses this server's IP address (60020): add it to 企业可信IP in the "
                    "WeCom admin console; outbox message %s is held and retried every %d min",
                    message.id,
                    int(HOLD_BACKOFF.total_seconds() // 60),
                )
                return Outcome(batch, "hold", HELD_PREFIX + reason)
            if exc.outcome_unknown:
                log.warning("outbox message %s: %s (%s)", message.id, exc.errmsg, users[0])
                return Outcome(batch, "dead", "outcome unknown: " + reason)
            # A token error that survived the client's one refresh (40014/42001 again) says
            # nothing about the message: retry later rather than lose it.
            transient = exc.transient or exc.errcode in TOKEN_ERRORS
            return Outcome(batch, "retry" if transient else "dead", reason)
        except Exception as exc:  # noqa: BLE001 - a bug in one batch must not stop the others
            log.exception("sending outbox message %s failed", message.id)
            return Outcome(batch, "retry", f"error: {exc!r}"[:500])
        # WeCom reports userids lower-cased: compare without case.
        invalid = {u.lower() for u in result.invalid_users}
        unlicensed = {u.lower() for u in result.unlicensed_users}
        return Outcome(
            batch,
            "sent",
            msgid=result.msgid,
            undelivered={
                u: (
                    "invaliduser: not a member visible to this app"
                    if u.lower() in invalid
                    else "unlicenseduser: the member has no licence for this app"
                )
                for u in users
                if u.lower() in invalid or u.lower() in unlicensed
            },
        )

    def _record(self, outcomes: list[Outcome], stats: DrainStats) -> None:
        now = self.clock()
        with transaction(self.factory) as s:
            for out in outcomes:
                batch, n = out.batch, len(out.batch.recipients)
                in_batch = OutboxDelivery.batch_id == batch.batch_id
                if out.status == "sent":
                    s.execute(
                        update(OutboxBatch)
                        .where(OutboxBatch.id == batch.batch_id)
                        .values(
                            status="sent",
                            sent_at=now,
                            lease_until=None,
                            last_error=None,
                            msgid=out.msgid or None,
                        )
                    )
                    s.execute(
                        update(OutboxDelivery)
                        .where(in_batch, OutboxDelivery.userid.not_in(list(out.undelivered)))
                        .values(
                            status="sent",
                            sent_at=now,
                            attempts=batch.attempts,
                            lease_until=None,
                            last_error=None,
                        )
                    )
                    for userid, reason in out.undelivered.items():
                        s.execute(
                            update(OutboxDelivery)
                            .where(in_batch, OutboxDelivery.userid == userid)
                            .values(status="dead", attempts=batch.attempts, last_error=reason)
                        )
                    stats.sent += n - len(out.undelivered)
                    stats.dead += len(out.undelivered)
                elif out.status == "hold":
                    stats.retried += n
                    # A held try does not count towards MAX_ATTEMPTS.
                    _back_to_pending(
                        s, batch.batch_id, out.error, now + HOLD_BACKOFF, batch.attempts - 1
                    )
                elif out.status == "dead" or batch.attempts >= MAX_ATTEMPTS:
                    stats.dead += n
                    values = {"status": "dead", "lease_until": None, "last_error": out.error}
                    s.execute(
                        update(OutboxBatch).where(OutboxBatch.id == batch.batch_id).values(**values)
                    )
                    s.execute(
                        update(OutboxDelivery)
                        .where(in_batch)
                        .values(attempts=batch.attempts, **values)
                    )
                else:
                    # The whole batch is tried again, byte-identical, after the backoff.
                    stats.retried += n
                    _back_to_pending(
                        s, batch.batch_id, out.error, now + backoff(batch.attempts), batch.attempts
                    )
                    s.execute(
                        update(OutboxDelivery)
                        .where(in_batch)
                        .values(attempts=batch.attempts, last_error=out.error)
                    )

    def _prune_counters(self, now: datetime) -> None:
        with transaction(self.factory) as s:
            s.execute(
                delete(MemberSendCount).where(
                    MemberSendCount.window_start < _minute(now) - timedelta(minutes=5)
                )
            )

    def drain(self, max_rounds: int = 1000) -> DrainStats:
        """Drain until nothing is due (tests, CLI `push`)."""
        total = DrainStats()
        for _ in range(max_rounds):
            st = self.drain_once()
            for f in total.__dataclass_fields__:
                setattr(total, f, getattr(total, f) + getattr(st, f))
            if st.claimed == 0:
                break
        return total


def _back_to_pending(
    s: Session, batch_id: int, error: str | None, at: datetime, attempts: int
) -> None:
    """The batch is tried again at `at`, unchanged (the same request)."""
    s.execute(
        update(OutboxBatch)
        .where(OutboxBatch.id == batch_id)
        .values(
            status="pending",
            lease_until=None,
            last_error=error,
            attempts=attempts,
            next_attempt_at=at,
        )
    )


def batch_payload(payload: dict, batch_id: int) -> dict:
    """The request body for one batch. WeCom requires a template card's task_id to be unique
    within the app (a reused one is accepted and not delivered), so a card sent in several
    calls gets one task id per batch: fixed by the batch, so a resend is still identical.
    Clicks are routed by EventKey / task-id prefix, so the suffix changes nothing there."""
    card = payload.get("template_card")
    if payload.get("msgtype") != "template_card" or not card or not card.get("task_id"):
        return payload
    suffix = f"-b{batch_id}"
    task_id = str(card["task_id"])[: 128 - len(suffix)] + suffix
    return {**payload, "template_card": {**card, "task_id": task_id}}


def _limit_key(kind: str | None, userid: str) -> str:
    if kind in ("robot", "recall"):  # a robot key, or a msgid: not a member's quota
        return f"{kind}:{userid}"
    return userid


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


class SenderThread(threading.Thread):
    """Background drain loop; `kick()` wakes it at once after a message is enqueued."""

    def __init__(self, sender: OutboxSender, interval: float = 1.0) -> None:
        super().__init__(name="outbox-sender", daemon=True)
        self.sender = sender
        self.interval = interval
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                stats = self.sender.drain_once()
                if stats.claimed:
                    continue  # more may be due
            except Exception:  # noqa: BLE001 - keep draining after a database hiccup
                log.exception("outbox drain failed")
            self._wake.wait(self.interval)
            self._wake.clear()
