"""The callback endpoint: verification, decryption, refusals, idempotency."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot.models import InboundMessage
from bot.wecom.crypto import CallbackCrypto, CallbackError, signature

VECTORS = json.loads((Path(__file__).parent / "data" / "wecom_sample_vectors.json").read_text())[
    "vectors"
]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_official_sample_vectors_verify_and_decrypt(vector):
    crypto = CallbackCrypto(vector["token"], vector["encoding_aes_key"], vector["receive_id"])
    assert (
        signature(vector["token"], vector["timestamp"], vector["nonce"], vector["encrypted"])
        == vector["msg_signature"]
    )
    if vector["kind"] == "verify_url":
        plain = crypto.verify_url(
            vector["msg_signature"], vector["timestamp"], vector["nonce"], vector["encrypted"]
        )
    else:
        crypto.check_signature(
            vector["msg_signature"], vector["timestamp"], vector["nonce"], vector["encrypted"]
        )
        plain = crypto.decrypt(vector["encrypted"])
    assert plain == vector["plaintext"]


def test_sample_with_30_byte_pad_is_covered():
    assert any(v["pad_length"] == 30 for v in VECTORS)


def test_sample_refused_for_another_corp():
    v = next(v for v in VECTORS if v["kind"] == "verify_url")
    crypto = CallbackCrypto(v["token"], v["encoding_aes_key"], "ww-someone-else")
    with pytest.raises(CallbackError) as err:
        crypto.verify_url(v["msg_signature"], v["timestamp"], v["nonce"], v["encrypted"])
    assert err.value.status == 403


def _get(client, crypto, plain="echo-123", **override):
    ts = str(int(time.time()))
    echostr, sig = crypto.sign_echostr(plain, ts, "n1")
    params = {"msg_signature": sig, "timestamp": ts, "nonce": "n1", "echostr": echostr}
    params.update(override)
    return client.get("/wecom/callback?" + urlencode(params))


def test_url_verification_answers_plaintext_alone(app, runtime):
    res = _get(app.test_client(), runtime.crypto)
    assert res.status_code == 200
    assert res.data == b"echo-123"


def test_url_verification_bad_signature_is_403(app, runtime):
    assert _get(app.test_client(), runtime.crypto, msg_signature="0" * 40).status_code == 403
    assert app.test_client().get("/wecom/callback").status_code in (400, 403)


def test_text_message_gets_encrypted_passive_reply(wecom):
    result = wecom.text("liuyang", "帮助")
    assert result.status == 200
    assert "答题" in result.text and "隐患" in result.text
    assert result.reply_xml["ToUserName"] == "liuyang"


def test_help_synonyms_fullwidth_and_spaces(wecom):
    for text in ("菜单", "  help ", "？", "ＨＥＬＰ", "帮　助".replace("　", "")):
        assert "答题" in wecom.text("liuyang", text).text, text


def test_admin_sees_admin_commands_in_help(wecom):
    assert "预警" in wecom.text("wangfang", "帮助").text
    assert "预警" not in wecom.text("liuyang", "帮助").text


def test_unknown_text_is_told_what_to_type(wecom):
    reply = wecom.text("liuyang", "今天天气怎么样")
    assert "帮助" in reply.text and "没有看懂" in reply.text


def test_enter_agent_event_welcomes(wecom):
    assert "欢迎" in wecom.event("liuyang", "enter_agent").text


def _post_raw(app, runtime, body: bytes, *, ts=None, nonce="abc", sig=None, encrypt=None):
    ts = str(int(time.time()) if ts is None else ts)
    if sig is None:
        sig = signature(runtime.settings.token, ts, nonce, encrypt or "")
    query = urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce})
    return app.test_client().post("/wecom/callback?" + query, data=body, content_type="text/xml")


def _envelope(encrypt: str) -> bytes:
    return f"<xml><ToUserName>x</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()


def test_forged_signature_is_403(app, runtime):
    enc = runtime.crypto.encrypt("<xml><MsgType>text</MsgType></xml>")
    assert _post_raw(app, runtime, _envelope(enc), sig="f" * 40).status_code == 403


def test_missing_signature_is_403(app):
    assert app.test_client().post("/wecom/callback", data=b"<xml/>").status_code in (400, 403)


def test_tampered_payload_is_403(app, runtime):
    enc = runtime.crypto.encrypt("<xml><MsgType>text</MsgType></xml>")
    ts = str(int(time.time()))
    sig = signature(runtime.settings.token, ts, "abc", enc)
    tampered = enc[:-8] + ("A" if enc[-8] != "A" else "B") + enc[-7:]
    assert _post_raw(app, runtime, _envelope(tampered), ts=ts, sig=sig).status_code == 403


def test_wrong_corp_id_is_403(app, runtime):
    other = CallbackCrypto(
        runtime.settings.token, runtime.settings.encoding_aes_key, "ww-other-corp"
    )
    enc = other.encrypt("<xml><MsgType>text</MsgType><FromUserName>x</FromUserName></xml>")
    assert _post_raw(app, runtime, _envelope(enc), encrypt=enc).status_code == 403


def test_malformed_xml_is_400(app, runtime):
    assert _post_raw(app, runtime, b"<xml><Encrypt>abc").status_code == 400
    assert _post_raw(app, runtime, b"not xml at all").status_code == 400


def test_bad_base64_is_400(app, runtime):
    enc = "!!!not-base64!!!"
    assert _post_raw(app, runtime, _envelope(enc), encrypt=enc).status_code == 400


def test_garbage_ciphertext_with_valid_signature_is_4xx(app, runtime):
    enc = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="  # 32 bytes that are not our AES
    assert _post_raw(app, runtime, _envelope(enc), encrypt=enc).status_code in (400, 403)


def test_entity_declarations_are_400(app, runtime):
    body = (
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<xml><Encrypt>&b;</Encrypt></xml>"
    )
    assert _post_raw(app, runtime, body).status_code == 400


def test_entity_declaration_inside_encrypted_payload_is_400(app, runtime, wecom):
    xml = '<!DOCTYPE xml [<!ENTITY x "boom">]><xml><MsgType>text</MsgType><FromUserName>u</FromUserName><Content>&x;</Content></xml>'
    assert wecom.send_xml(xml).status == 400


def test_body_over_64_kib_is_413(app, runtime):
    assert _post_raw(app, runtime, b"<xml>" + b"a" * (1024 * 1024) + b"</xml>").status_code == 413


def test_stale_timestamp_is_403(wecom):
    assert wecom.text("liuyang", "帮助").status == 200
    old = int(time.time()) - 301
    result = wecom.send_fields(
        {
            "FromUserName": "liuyang",
            "CreateTime": old,
            "MsgType": "text",
            "Content": "帮助",
            "MsgId": "1",
        },
        timestamp=old,
    )
    assert result.status == 403
    future = int(time.time()) + 400
    assert (
        wecom.send_fields(
            {
                "FromUserName": "liuyang",
                "CreateTime": future,
                "MsgType": "text",
                "Content": "帮助",
                "MsgId": "2",
            },
            timestamp=future,
        ).status
        == 403
    )


def test_max_age_zero_turns_the_check_off(fake, sqlite_url, clock, make_settings_for):
    from bot.app import create_app
    from bot.fake_wecom.driver import CallbackDriver, flask_post
    from bot.migrate import upgrade
    from bot.runtime import build_runtime

    rt = build_runtime(make_settings_for(sqlite_url, fake, callback_max_age=0), clock=clock)
    upgrade(rt.engine)
    driver = CallbackDriver(rt.crypto, flask_post(create_app(runtime=rt).test_client()))
    assert (
        driver.send_fields(
            {
                "FromUserName": "u",
                "CreateTime": 1,
                "MsgType": "text",
                "Content": "帮助",
                "MsgId": "7",
            },
            timestamp=1,
        ).status
        == 200
    )
    rt.close()


def _inbound_count(runtime) -> int:
    with runtime.factory() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage))


def test_retried_callback_takes_effect_once_and_gets_the_same_answer(wecom, runtime):
    first = wecom.text("liuyang", "帮助", msg_id="9001")
    retries = [wecom.text("liuyang", "帮助", msg_id="9001") for _ in range(3)]
    assert _inbound_count(runtime) == 1
    assert all(r.status == 200 and r.text == first.text for r in retries)


def test_retried_event_takes_effect_once(wecom, runtime):
    for _ in range(4):
        wecom.event("liuyang", "enter_agent", create_time=1780000000)
    assert _inbound_count(runtime) == 1
    wecom.event("liuyang", "enter_agent", create_time=1780000001)
    assert _inbound_count(runtime) == 2


def test_sixteen_concurrent_identical_callbacks_take_effect_once(runtime, wecom):
    barrier = threading.Barrier(16)
    results = []

    def send():
        barrier.wait()
        results.append(wecom.text("zhaolei", "帮助", msg_id="777000"))

    threads = [threading.Thread(target=send) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in results] == [200] * 16
    assert _inbound_count(runtime) == 1
    assert len({r.text for r in results}) == 1


def test_healthz(app):
    res = app.test_client().get("/healthz")
    assert res.status_code == 200 and res.get_json()["database"] == "ok"


def test_template_card_event_with_one_and_several_selected_items():
    from bot.wecom.inbound import build_message_xml, parse_message

    base = {
        "ToUserName": "ww",
        "FromUserName": "u1",
        "CreateTime": 1,
        "MsgType": "event",
        "Event": "template_card_event",
        "EventKey": "submit",
        "TaskId": "task-1",
        "CardType": "vote_interaction",
        "ResponseCode": "rc-1",
        "AgentID": 1,
    }
    one = parse_message(build_message_xml({**base, "SelectedItems": {"q1": ["B"]}}))
    assert one.event == "template_card_event" and one.selected_items == {"q1": ["B"]}
    assert one.response_code == "rc-1" and one.task_id == "task-1"
    several = parse_message(
        build_message_xml({**base, "SelectedItems": {"q1": ["A", "C"], "q2": ["D"]}})
    )
    assert several.selected_items == {"q1": ["A", "C"], "q2": ["D"]}
    none = parse_message(build_message_xml(base))
    assert none.selected_items == {}


def test_menu_click_with_a_command_key_acts_as_typed(wecom):
    assert "答题" in wecom.event("liuyang", "click", "帮助").text


def test_location_and_image_messages_outside_a_conversation_get_a_hint(wecom):
    assert "隐患" in wecom.location("liuyang", 31.2, 121.4, "车间").text
    assert "隐患" in wecom.image("liuyang", "media-1").text
