"""Issue 18, point 5: department heads open the console from WeCom without a password.

WeCom's web authorisation end to end against the fake: the console sends the browser to the
authorize link, "WeCom" (the fake, told who opens it) redirects back with a code, the console
exchanges it (auth/getuserinfo) and signs the member in with the role the directory and the
roles grants give them. Codes and states are good once; a state is bound to its browser.
"""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from bot.console import sso
from bot.console.testing import PASSWORD, login, seed_campaign
from bot.db import transaction
from bot.directory import grant
from bot.models import AuditLog, ConsoleAccount


@pytest.fixture
def settings(db_url, fake, make_settings_for):
    return make_settings_for(db_url, fake, oauth_base=fake.url)


def start(client, fake, path="/admin/login/wecom"):
    """The console's redirect to WeCom's authorize link, checked against the documented shape."""
    response = client.get(path)
    assert response.status_code == 302
    link = response.headers["Location"]
    assert link.startswith(fake.url + "/connect/oauth2/authorize?")
    assert link.endswith("#wechat_redirect")
    query = parse_qs(urlsplit(link).query)
    assert query["appid"] == [fake.state.corp_id]
    assert query["response_type"] == ["code"] and query["scope"] == ["snsapi_base"]
    assert query["agentid"] == [str(fake.state.agent_id)]
    assert query["redirect_uri"][0].endswith("/admin/login/wecom/done")
    state = query["state"][0]
    assert state.isalnum() and len(state) <= 128  # WeCom: a-zA-Z0-9, at most 128 bytes
    return link.split("#")[0]


def open_in_wecom(link: str, who: str) -> str:
    """WeCom answers the authorize link for member `who` ("openid:…" for an outsider) with a
    redirect back to the console: that address, with code and state."""
    kind, _, value = who.rpartition(":")
    answer = requests.get(link + f"&{kind or 'userid'}={value}", allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return answer.headers["Location"]


def sign_in(client, fake, who: str):
    return client.get(open_in_wecom(start(client, fake), who))


def test_department_head_signs_in_without_a_password_and_sees_their_department(
    app, runtime, clock, fake
):
    with transaction(runtime.factory) as s:
        seed_campaign(s, runtime.settings, clock())
    client = app.test_client()
    login_page = client.get("/admin/login").get_data(as_text=True)
    assert "用企业微信登录" in login_page

    response = sign_in(client, fake, "liqiang")  # 一车间主任: leader of department 3

    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    page = client.get("/admin/").get_data(as_text=True)
    assert "李强（部门负责人）" in page  # the header names the person
    hazards = client.get("/admin/hazards").get_data(as_text=True)
    assert "一车间消防通道堆放纸箱" in hazards
    assert "二车间配电箱门未关闭" not in hazards
    assert client.get("/admin/audit").status_code == 403  # an officer's page
    with runtime.factory() as s:
        account = s.scalar(select(ConsoleAccount).where(ConsoleAccount.wecom_userid == "liqiang"))
        assert (account.role, account.departments, account.password_hash) == (
            "department_head",
            [3],
            "",
        )
        assert "console:login-wecom" in s.scalars(select(AuditLog.action)).all()
    # No password opens this account.
    assert login(app.test_client(), "liqiang", PASSWORD).status_code == 401


def test_officers_and_granted_heads_get_their_roles(app, runtime, fake):
    with transaction(runtime.factory) as s:
        grant(s, "zhaolei", "safety_officer")
        grant(s, "sunyu", "department_head", 6)
    for userid, name, label in (
        ("wangfang", "王芳", "管理员"),
        ("zhaolei", "赵磊", "安全员"),
        ("sunyu", "孙宇", "部门负责人"),
    ):
        client = app.test_client()
        assert sign_in(client, fake, userid).status_code == 302
        assert f"{name}（{label}）" in client.get("/admin/").get_data(as_text=True)
    with runtime.factory() as s:
        sunyu = s.scalar(select(ConsoleAccount).where(ConsoleAccount.wecom_userid == "sunyu"))
        assert sunyu.departments == [6]


def test_staff_and_outsiders_are_refused_in_chinese(app, runtime, fake):
    client = app.test_client()
    response = sign_in(client, fake, "liuyang")  # 操作工: no role
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "没有管理后台权限" in text and "刘洋" in text
    assert client.get("/admin/").status_code == 302  # still not signed in

    outsider = app.test_client()
    response = sign_in(outsider, fake, "openid:o-visitor-1")
    assert response.status_code == 403
    assert "只有本企业通讯录中的成员可以登录" in response.get_data(as_text=True)
    with runtime.factory() as s:
        refused = s.scalars(select(AuditLog).where(AuditLog.allowed.is_(False))).all()
        assert [a.action for a in refused] == ["console:login-wecom-refused"]


def test_a_code_is_good_once_and_for_five_minutes(app, runtime, fake):
    client = app.test_client()
    back = open_in_wecom(start(client, fake), "zhangwei")
    assert client.get(back).status_code == 302
    used_code = parse_qs(urlsplit(back).query)["code"][0]

    # The same code with a fresh state of this browser: WeCom answers 40029.
    again = app.test_client()
    fresh = open_in_wecom(start(again, fake), "zhangwei")
    state = parse_qs(urlsplit(fresh).query)["state"][0]
    response = again.get(f"/admin/login/wecom/done?code={used_code}&state={state}")
    assert response.status_code == 400
    assert "已使用或已过期" in response.get_data(as_text=True)

    # A code older than five minutes.
    late = app.test_client()
    back = open_in_wecom(start(late, fake), "zhangwei")
    fake.clock = lambda: time.time() + 301
    response = late.get(back)
    assert response.status_code == 400
    assert "已使用或已过期" in response.get_data(as_text=True)
    assert late.get("/admin/").status_code == 302


def test_a_forged_foreign_or_reused_state_is_refused(app, runtime, fake):
    client = app.test_client()
    back = open_in_wecom(start(client, fake), "zhangwei")
    code = parse_qs(urlsplit(back).query)["code"][0]
    state = parse_qs(urlsplit(back).query)["state"][0]
    forged = state[:-1] + ("0" if state[-1] != "0" else "1")

    response = client.get(f"/admin/login/wecom/done?code={code}&state={forged}")
    assert response.status_code == 400
    assert "登录链接已失效" in response.get_data(as_text=True)

    # Another browser brings this browser's state (a login CSRF): refused.
    other = app.test_client()
    assert other.get(back).status_code == 400
    assert other.get("/admin/").status_code == 302


def test_a_state_is_used_once_and_within_ten_minutes(session, clock):
    key = "k" * 48
    state = sso.issue_state(session, key, "console", "/admin/hazards", clock())
    assert sso.consume_state(session, key, "checkin", state, clock()) is None  # other purpose
    assert sso.consume_state(session, key, "console", state, clock()) == "/admin/hazards"
    assert sso.consume_state(session, key, "console", state, clock()) is None  # used
    late = sso.issue_state(session, key, "console", "/admin/", clock())
    assert sso.consume_state(session, key, "console", late, clock() + timedelta(minutes=11)) is None
    assert sso.consume_state(session, "another-key", "console", late, clock()) is None


def test_the_fake_refuses_a_wrong_corp_and_shows_a_member_picker(fake):
    link = f"{fake.url}/connect/oauth2/authorize?appid=wrong&redirect_uri=http%3A%2F%2Fx%2F&response_type=code&scope=snsapi_base&state=abc"
    assert requests.get(link, timeout=5).status_code == 400
    picker = requests.get(link.replace("wrong", fake.state.corp_id), timeout=5)
    assert picker.status_code == 200 and "李强" in picker.text


def test_the_demo_page_signs_a_head_in_through_the_fake_wecom(tmp_path):
    import threading

    from bot.demo.run import start_demo

    demo = start_demo(port=0, database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    threading.Thread(target=demo.server.run, daemon=True).start()
    try:
        browser = requests.Session()
        page = browser.get(demo.base_url + "/", timeout=5).text
        assert "用企业微信登录管理后台" in page and 'href="/admin/login/wecom"' in page
        picker = browser.get(demo.base_url + "/admin/login/wecom", timeout=10)
        assert picker.url.startswith(demo.fake.url) and "李强" in picker.text  # choose a member
        link = picker.url.split("#")[0] + "&userid=liqiang"
        console = browser.get(link, timeout=10)
        assert console.url == demo.base_url + "/admin/"
        assert "李强（部门负责人）" in console.text
    finally:
        demo.stop()
