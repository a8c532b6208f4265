"""Exactly-once delivery through the outbox: crashes mid-broadcast, API errors, batching, limits."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from bot.db import transaction
from bot.fake_wecom.seed import USERS
from bot.models import OutboxDelivery, User
from bot.outbox import counts, enqueue
from bot.runtime import build_runtime
from bot.sender import OutboxSender

SEED = [u[0] for u in USERS]


class ProcessKilled(BaseException):
    """Not an Exception: the sender's error handling must not see it, as with a SIGKILL."""


class DyingClient:
    """The real client until `allow` message/send calls have gone through, then the process
    'dies' in the middle of the broadcast (before anything is recorded)."""

    def __init__(self, client, allow: int) -> None:
        self._client = client
        self.allow = allow
        self.calls = 0

    def send_message(self, *args, **kwargs):
        if self.calls >= self.allow:
            raise ProcessKilled()
        self.calls += 1
        return self._client.send_message(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def add_members(runtime, fake, n: int) -> list[str]:
    ids = [f"worker{i:05d}" for i in range(n)]
    for userid in ids:
        fake.add_user(userid, userid, [3])
    with transaction(runtime.factory) as s:
        s.execute(
            insert(User),
            [
                {
                    "userid": u,
                    "name": u,
                    "department_id": 3,
                    "department_ids": [3],
                    "leader_of": [],
                    "position": "",
                    "status": 1,
                }
                for u in ids
            ],
        )
    return ids


def delivered_counts(fake, userids) -> Counter:
    return Counter({u: len(fake.messages_for(u)) for u in userids})


def assert_invariant(runtime, *, pending=0, dead=0):
    with runtime.factory() as s:
        c = counts(s)
    assert c["enqueued"] == c["sent"] + c["pending"] + c["dead"], c
    assert (c["pending"], c["dead"]) == (pending, dead), c
    return c


def queue(runtime, userids, text="今天下午三点消防演练", **kw):
    with transaction(runtime.factory) as s:
        return enqueue(
            s,
            userids,
            {"msgtype": "text", "text": {"content": text}},
            source="test",
            now=runtime.clock(),
            **kw,
        )


def test_batches_of_at_most_1000(runtime, fake):
    members = SEED + add_members(runtime, fake, 2500)
    queue(runtime, members)
    stats = runtime.sender.drain()
    calls = fake.calls_to("message/send")
    assert len(calls) == 3 and stats.sent == 2512
    assert sorted(len(c.body["touser"].split("|")) for c in calls) == [512, 1000, 1000]
    assert all(c.body["enable_duplicate_check"] == 1 for c in calls)
    assert set(delivered_counts(fake, members).values()) == {1}
    assert_invariant(runtime)


def test_process_killed_mid_broadcast_delivers_exactly_once(runtime, fake, clock):
    members = SEED + add_members(runtime, fake, 2500)
    queue(runtime, members)
    dying = OutboxSender(runtime.factory, DyingClient(runtime.client, allow=1), clock=runtime.clock)
    with pytest.raises(ProcessKilled):
        dying.drain()
    # One batch reached WeCom, nothing was recorded: every row is still pending, under lease.
    got = delivered_counts(fake, members)
    assert sum(got.values()) == 1000 and max(got.values()) == 1
    assert_invariant(runtime, pending=2512)

    survivor = OutboxSender(runtime.factory, runtime.client, clock=runtime.clock)
    assert survivor.drain().claimed == 0  # the lease still holds
    clock.advance(minutes=2, seconds=1)
    stats = survivor.drain()
    assert stats.sent == 2512 and stats.api_calls == 3
    # The resent first batch was suppressed by WeCom's duplicate check: once each, no one missed.
    assert set(delivered_counts(fake, members).values()) == {1}
    assert_invariant(runtime)


@pytest.mark.parametrize(
    "fault",
    [
        {"errcode": 42001},
        {"errcode": 45009},
        {"errcode": -1},
        {"status": 502},
        {"status": 503},
        {"delay": 0.6},
    ],
    ids=["42001", "45009", "-1", "502", "503", "timeout"],
)
@pytest.mark.parametrize("times", [1, 5])
def test_transient_errors_are_retried_and_nothing_is_lost(settings, clock, fake, fault, times):
    """1 failure: the client's own retry absorbs it; 5: the outbox retries with backoff."""
    from bot.directory import sync_directory
    from bot.migrate import upgrade

    rt = build_runtime(settings.replace(api_timeout=0.3), clock=clock, client_sleep=lambda _s: None)
    upgrade(rt.engine)
    try:
        with transaction(rt.factory) as s:
            sync_directory(s, rt.client, clock())
        fake.reset()
        queue(rt, SEED)
        fake.inject("message/send", times=times, **fault)
        for _ in range(10):
            rt.sender.drain()
            clock.advance(minutes=10)
            with rt.factory() as s:
                if not counts(s)["pending"]:
                    break
        import time

        time.sleep(0.7)  # let any request that timed out on our side finish on the fake's
        assert set(delivered_counts(fake, SEED).values()) == {1}
        assert_invariant(rt)
        with rt.factory() as s:
            attempts = set(s.scalars(select(OutboxDelivery.attempts)))
        if times == 1:
            assert attempts == {1}  # absorbed by the client's own retry
        else:
            assert len(attempts) == 1 and attempts.pop() >= 2  # the outbox retried the batch
    finally:
        rt.close()


def test_permanent_error_is_dead_with_reason(runtime, fake):
    queue(runtime, SEED[:3])
    fake.inject("message/send", errcode=40008)  # invalid message type: no retry can help
    queue(runtime, ["zhangwei", "nobody-here"], text="第二条")
    runtime.sender.drain()
    c = assert_invariant(runtime, dead=4)
    assert c["sent"] == 1
    with runtime.factory() as s:
        reasons = sorted(
            s.scalars(select(OutboxDelivery.last_error).where(OutboxDelivery.status == "dead"))
        )
    assert reasons[0].startswith("40008") and reasons[-1].startswith("invaliduser")


def test_member_rate_limit_defers_the_excess_to_the_next_minute(runtime, fake, clock):
    for i in range(35):
        queue(runtime, ["liuyang"], text=f"第{i}条")
    runtime.sender.drain()
    assert len(fake.messages_for("liuyang")) == 30 and not fake.dropped
    assert_invariant(runtime, pending=5)
    clock.advance(minutes=1)
    fake._recent.clear()  # the fake's window is wall-clock; the bot's is the test clock
    runtime.sender.drain()
    assert len(fake.messages_for("liuyang")) == 35
    assert_invariant(runtime)


def test_two_senders_draining_at_once_send_once(runtime, fake):
    """Two senders (threads) racing on the same rows: leases/SKIP LOCKED keep them apart."""
    import threading

    members = SEED + add_members(runtime, fake, 1500)
    queue(runtime, members, duplicate_check=False)
    other = OutboxSender(runtime.factory, runtime.client, clock=runtime.clock, claim_limit=700)
    runtime.sender.claim_limit = 700
    threads = [threading.Thread(target=s.drain) for s in (runtime.sender, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # With duplicate checking off, a double send would show up as a second message.
    assert set(delivered_counts(fake, members).values()) == {1}
    assert_invariant(runtime)


def test_dedup_key_makes_enqueue_idempotent(runtime):
    assert queue(runtime, SEED, dedup_key="k1") is not None
    assert queue(runtime, SEED, dedup_key="k1") is None
    with runtime.factory() as s:
        assert counts(s)["enqueued"] == len(SEED)


def test_lease_is_longer_than_a_slow_batch(runtime):
    # A batch retried inside the client takes at most ~3 timeouts; the lease must outlive it.
    assert runtime.sender.lease > timedelta(seconds=3 * runtime.settings.api_timeout + 5)


class DiesAfterSending:
    """The real client; the process dies right after its first call reached WeCom, before
    the sender could record anything (as with kill -9)."""

    def __init__(self, client) -> None:
        self._client = client

    def send_message(self, *args, **kwargs):
        self._client.send_message(*args, **kwargs)
        raise ProcessKilled()

    def __getattr__(self, name):
        return getattr(self._client, name)


def requests_per_member(fake) -> dict[str, set[str]]:
    """Each member -> the distinct message/send request bodies that named them."""
    import json

    seen: dict[str, set[str]] = {}
    for call in fake.calls_to("message/send"):
        body = json.dumps(call.body, sort_keys=True, ensure_ascii=False)
        for userid in call.body["touser"].split("|"):
            seen.setdefault(userid, set()).add(body)
    return seen


def test_timeouts_and_a_killed_sender_still_deliver_once_per_member(settings, clock, fake):
    """message/send slower than the client's timeout (WeCom carries the call out anyway), then
    a sender killed mid-broadcast: every retry is the same request, so WeCom's duplicate check
    (which compares whole requests) delivers each of the 2,512 members exactly once."""
    import time

    from bot.directory import sync_directory
    from bot.migrate import upgrade

    rt = build_runtime(settings.replace(api_timeout=0.3), clock=clock, client_sleep=lambda _s: None)
    upgrade(rt.engine)
    try:
        with transaction(rt.factory) as s:
            sync_directory(s, rt.client, clock())
        members = SEED + add_members(rt, fake, 2500)
        fake.reset()
        queue(rt, members)
        # The first batch times out on every one of the client's 3 tries (each reaches WeCom).
        fake.inject("message/send", delay=0.6, times=3)
        first = rt.sender.drain_once()
        assert first.retried == 1000 and first.sent == 1512
        # The next sender takes the batch again and dies after its call reached WeCom.
        clock.advance(minutes=11)
        dying = OutboxSender(rt.factory, DiesAfterSending(rt.client), clock=rt.clock)
        with pytest.raises(ProcessKilled):
            dying.drain()
        clock.advance(minutes=11)  # past the dead sender's lease
        rt.sender.drain()
        time.sleep(0.7)  # requests that timed out on our side finish on the fake's
        assert set(delivered_counts(fake, members).values()) == {1}
        # No member was ever in two different requests, and the failed 1,000-member batch
        # was resent whole every time (5 identical calls), never split into small calls.
        assert {len(bodies) for bodies in requests_per_member(fake).values()} == {1}
        sizes = sorted(len(c.body["touser"].split("|")) for c in fake.calls_to("message/send"))
        assert sizes == [512] + [1000] * 6
        assert_invariant(rt)
    finally:
        rt.close()


def test_a_robot_post_that_timed_out_is_not_posted_again(settings, clock, fake):
    """Group robots have no duplicate check: after a timeout the post may have reached the
    group, so it is recorded as unknown (dead, with the reason) and never repeated."""
    import time

    from bot.migrate import upgrade

    rt = build_runtime(settings.replace(api_timeout=0.3), clock=clock, client_sleep=lambda _s: None)
    upgrade(rt.engine)
    try:
        with transaction(rt.factory) as s:
            enqueue(
                s,
                ["robot-key-1"],
                {"msgtype": "markdown", "markdown": {"content": "**暴雨红色预警**"}},
                source="test",
                now=rt.clock(),
                kind="robot",
            )
        fake.inject("webhook/send", delay=0.6, times=5)
        for _ in range(3):
            rt.sender.drain()
            clock.advance(minutes=11)
        time.sleep(0.7)
        assert fake.count("webhook/send") == 1
        assert len(fake.robot_messages["robot-key-1"]) == 1  # it did reach the group
        with rt.factory() as s:
            row = s.scalars(select(OutboxDelivery)).one()
        assert row.status == "dead" and row.last_error.startswith("outcome unknown")
        c = assert_invariant(rt, dead=1)
        assert c["robot_unknown"] == 1  # `safetybot outbox` reports it
    finally:
        rt.close()


def test_a_sender_meeting_another_mid_formation_does_not_split_the_message(runtime, fake):
    """#21.11: two senders forming batches at once used to split one message's recipients
    between them (SKIP LOCKED hands each the rows the other has not locked yet), so a push
    to 12 members went out as two calls. Here a second connection plays the other sender
    half-way through forming: it holds the formation lock and has locked the first row. The
    sender waits for it instead of taking the rest, then sends the message in one call."""
    import threading
    import time

    from sqlalchemy import text

    from bot.db import is_postgres
    from bot.sender import FORMATION_LOCK_ID

    if not is_postgres(runtime.engine):
        pytest.skip("SQLite has one writer at a time: formation cannot interleave")
    queue(runtime, SEED)
    with runtime.engine.connect() as other:
        other.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), :id)"),
            {"id": FORMATION_LOCK_ID},
        )
        other.execute(
            select(OutboxDelivery.id).order_by(OutboxDelivery.id).limit(1).with_for_update()
        )
        sender = threading.Thread(target=runtime.sender.drain)
        sender.start()
        time.sleep(1.0)
        assert sender.is_alive() and fake.count("message/send") == 0  # waiting, sent nothing
        other.rollback()
    sender.join(timeout=30)
    assert not sender.is_alive()
    calls = fake.calls_to("message/send")
    assert len(calls) == 1 and sorted(calls[0].body["touser"].split("|")) == sorted(SEED)
    assert_invariant(runtime)
