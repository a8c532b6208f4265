"""The outbound client and the outbox sender against the fake WeCom API."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.models import OutboxDelivery, User
from bot.outbox import counts, enqueue
from bot.wecom.client import MemoryTokenStore, WeComAPIError, WeComClient


def make_client(fake, **kw) -> WeComClient:
    kw.setdefault("sleep", lambda _s: None)
    return WeComClient(
        fake.state.corp_id,
        fake.state.secret,
        fake.state.agent_id,
        api_base=fake.url,
        token_store=kw.pop("token_store", MemoryTokenStore()),
        **kw,
    )


TEXT = {"msgtype": "text", "text": {"content": "hello"}}


def test_token_is_fetched_once_and_reused(fake):
    client = make_client(fake)
    for _ in range(5):
        client.send_message(TEXT, ["liuyang"], duplicate_check=False)
    assert fake.count("gettoken") == 1
    assert len(fake.messages_for("liuyang")) == 5


def test_token_refresh_on_42001(fake):
    client = make_client(fake)
    client.send_message(TEXT, ["liuyang"])
    fake.expire_tokens()  # WeCom now answers 42001 for the cached token
    client.send_message({"msgtype": "text", "text": {"content": "again"}}, ["liuyang"])
    assert fake.count("gettoken") == 2
    assert fake.texts_for("liuyang") == ["hello", "again"]


def test_token_refresh_on_40014(fake):
    client = make_client(fake)
    client.send_message(TEXT, ["liuyang"])
    fake.state.tokens.clear()  # token unknown to WeCom: 40014
    client.send_message({"msgtype": "text", "text": {"content": "b"}}, ["liuyang"])
    assert fake.count("gettoken") == 2


def test_token_shared_by_processes_through_the_database(fake, runtime):
    """Two runtimes (as two processes) on one database fetch one token between them."""
    from bot.runtime import build_runtime

    other = build_runtime(runtime.settings, client_sleep=lambda _s: None)
    fake.reset()
    barrier = threading.Barrier(8)

    def send(client):
        barrier.wait()
        client.send_message(TEXT, ["liuyang"], duplicate_check=False)

    threads = [threading.Thread(target=send, args=(c,)) for c in [runtime.client, other.client] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.count("gettoken") <= 1  # the runtime fixture may already hold one
    other.close()


@pytest.mark.parametrize("errcode", [45009, -1])
def test_retry_on_transient_errcodes(fake, errcode):
    client = make_client(fake)
    fake.inject("message/send", errcode=errcode, times=2)
    client.send_message(TEXT, ["liuyang"])
    assert fake.count("message/send") == 3
    assert fake.texts_for("liuyang") == ["hello"]


def test_retry_on_5xx_and_timeout(fake):
    client = make_client(fake, timeout=0.3)
    fake.inject("message/send", status=502, times=1)
    fake.inject("message/send", delay=0.6, times=1)
    client.send_message(TEXT, ["liuyang"])
    assert fake.count("message/send") == 3


def test_retries_are_bounded(fake):
    client = make_client(fake, max_attempts=3)
    fake.inject("message/send", errcode=45009, times=10)
    with pytest.raises(WeComAPIError) as err:
        client.send_message(TEXT, ["liuyang"])
    assert err.value.transient and err.value.errcode == 45009
    assert fake.count("message/send") == 3


def test_permanent_error_is_not_retried(fake):
    client = make_client(fake)
    fake.inject("message/send", errcode=40003, times=1)
    with pytest.raises(WeComAPIError) as err:
        client.send_message(TEXT, ["liuyang"])
    assert not err.value.transient
    assert fake.count("message/send") == 1


def test_invaliduser_is_reported(fake):
    client = make_client(fake)
    result = client.send_message(TEXT, ["liuyang", "ghost"])
    assert result.invalid_users == ["ghost"]


def test_more_than_1000_users_is_refused_by_the_client(fake):
    client = make_client(fake)
    with pytest.raises(ValueError):
        client.send_message(TEXT, [f"u{i}" for i in range(1001)])


def test_gettoken_uses_the_configured_api_base(fake):
    client = make_client(fake)
    client.list_departments()
    assert fake.count("gettoken") == 1 and fake.count("department/list") == 1


def test_media_json_error_with_http_200_is_an_error(fake):
    client = make_client(fake)
    fake.add_media("m1", b"\x89PNG-data", "image/png")
    data, ctype = client.download_media("m1")
    assert data == b"\x89PNG-data" and ctype == "image/png"
    with pytest.raises(WeComAPIError) as err:
        client.download_media("expired")
    assert err.value.errcode == 40007


# -- the outbox and its sender -------------------------------------------------------------


def _add_members(runtime, n: int, fake) -> list[str]:
    ids = [f"m{i:05d}" for i in range(n)]
    for u in ids:
        fake.add_user(u, u, [3])
    with transaction(runtime.factory) as s:
        s.add_all(
            [User(userid=u, name=u, department_id=3, department_ids=[3], leader_of=[]) for u in ids]
        )
    return ids


def test_broadcast_is_batched_by_1000(runtime, fake, clock):
    ids = _add_members(runtime, 2500, fake)
    with transaction(runtime.factory) as s:
        enqueue(s, ids, TEXT, source="test", now=clock())
    stats = runtime.sender.drain()
    sends = fake.calls_to("message/send")
    assert len(sends) == 3
    assert sorted(len(c.body["touser"].split("|")) for c in sends) == [500, 1000, 1000]
    assert all(c.body["enable_duplicate_check"] == 1 for c in sends)
    assert stats.sent == 2500
    with runtime.factory() as s:
        c = counts(s)
    assert c["enqueued"] == c["sent"] == 2500 and c["pending"] == c["dead"] == 0


def test_invalid_users_are_dead_with_reason(runtime, fake, clock):
    with transaction(runtime.factory) as s:
        enqueue(s, ["liuyang", "nobody"], TEXT, source="test", now=clock())
    runtime.sender.drain()
    with runtime.factory() as s:
        rows = {d.userid: d for d in s.scalars(select(OutboxDelivery))}
        c = counts(s)
    assert rows["liuyang"].status == "sent"
    assert rows["nobody"].status == "dead" and "invaliduser" in rows["nobody"].last_error
    assert c["enqueued"] == c["sent"] + c["pending"] + c["dead"]


def test_transient_failure_is_retried_later_not_lost(runtime, fake, clock):
    with transaction(runtime.factory) as s:
        enqueue(s, ["liuyang"], TEXT, source="test", now=clock())
    fake.inject("message/send", errcode=-1, times=3)  # more than the client's own retries
    runtime.sender.drain()
    with runtime.factory() as s:
        assert counts(s)["pending"] == 1
    clock.advance(minutes=1)
    runtime.sender.drain()
    with runtime.factory() as s:
        assert counts(s)["sent"] == 1
    assert fake.texts_for("liuyang") == ["hello"]


def test_per_member_limit_defers_instead_of_losing(runtime, fake, clock):
    fake.clock = lambda: clock().timestamp()
    with transaction(runtime.factory) as s:
        for i in range(40):
            enqueue(
                s,
                ["liuyang"],
                {"msgtype": "text", "text": {"content": f"n{i}"}},
                source="test",
                now=clock(),
            )
    runtime.sender.drain()
    assert len(fake.texts_for("liuyang")) == 30
    assert fake.dropped == []
    clock.advance(minutes=1)
    runtime.sender.drain()
    assert len(fake.texts_for("liuyang")) == 40
    assert fake.dropped == []
    with runtime.factory() as s:
        c = counts(s)
    assert c["enqueued"] == c["sent"] + c["pending"] + c["dead"] == 40


def test_enqueue_with_dedup_key_is_idempotent(runtime, clock):
    with transaction(runtime.factory) as s:
        first = enqueue(s, ["liuyang"], TEXT, source="t", now=clock(), dedup_key="k1")
        second = enqueue(s, ["liuyang"], TEXT, source="t", now=clock(), dedup_key="k1")
    assert first is not None and second is None


def test_long_reply_goes_through_the_api(runtime, wecom, fake):
    """A reply over 2048 bytes is split and sent through message/send, not passively."""
    from bot.messages import Reply

    long_text = "安全" * 1500

    def long_handler(msg, ctx, args):
        return Reply.text(long_text)

    runtime.router.command("长文")(long_handler)
    result = wecom.text("liuyang", "长文")
    assert result.status == 200 and result.text is None
    runtime.sender.drain()
    parts = fake.texts_for("liuyang")
    assert len(parts) >= 3 and "".join(parts) == long_text
    assert all(len(p.encode()) <= 2048 for p in parts)
