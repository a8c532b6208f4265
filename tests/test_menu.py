"""Issue 18, point 7: `safetybot menu` creates the app's menu from content/menu.yaml, checked
against WeCom's documented limits (创建菜单); the fake records it and refuses what WeCom
refuses; a click reaches the bot as the command typed."""

from __future__ import annotations

import copy
import json

import pytest
import requests

from bot.cli import build_parser
from bot.wecom.client import WeComAPIError
from bot.wecom.menu import MenuError, build_menu, default_path, load_menu

PUBLIC = "https://safety.example.cn"
CONSOLE = PUBLIC + "/admin/login/wecom"


@pytest.fixture
def settings(db_url, fake, make_settings_for):
    return make_settings_for(db_url, fake, public_url=PUBLIC, oauth_base=fake.url)


def run_menu(runtime, cli_runtime, *argv) -> int:
    args = build_parser().parse_args(["menu", *argv])
    args.settings = runtime.settings
    cli_runtime(runtime)
    return args.func(args)


def test_the_menu_json_has_the_documented_shape():
    menu = load_menu(default_path(), CONSOLE)
    assert set(menu) == {"button"} and 1 <= len(menu["button"]) <= 3
    seen = []
    for button in menu["button"]:
        assert len(button["name"].encode()) <= 16
        assert set(button) == {"name", "sub_button"} and 1 <= len(button["sub_button"]) <= 5
        for sub in button["sub_button"]:
            assert len(sub["name"].encode()) <= 40
            if sub["type"] == "click":
                assert set(sub) == {"type", "name", "key"} and len(sub["key"].encode()) <= 128
            else:
                assert set(sub) == {"type", "name", "url"} and sub["type"] == "view"
            seen.append(sub.get("key") or sub["url"])
    for key in ("答题", "打卡", "隐患", "责任书", "学习", CONSOLE):
        assert key in seen


def test_cli_creates_the_menu_in_wecom(runtime, cli_runtime, fake, capsys):
    assert run_menu(runtime, cli_runtime) == 0
    assert "menu created for app 1000002: 3 buttons" in capsys.readouterr().out
    [call] = fake.calls_to("menu/create")
    assert call.params["agentid"] == "1000002"
    assert fake.state.web.menus[fake.state.agent_id] == load_menu(default_path(), CONSOLE)
    assert runtime.client.get_menu()["button"][2]["sub_button"][2]["url"] == CONSOLE

    assert run_menu(runtime, cli_runtime, "--print") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == fake.state.web.menus[fake.state.agent_id]
    assert fake.count("menu/create") == 1  # --print sends nothing


def test_the_fake_refuses_what_wecom_refuses(runtime, fake):
    good = load_menu(default_path(), CONSOLE)
    too_many = {"button": good["button"] + [good["button"][0]]}
    long_name = copy.deepcopy(good)
    long_name["button"][0]["name"] = "安全生产月每日一练"  # 27 bytes
    six = copy.deepcopy(good)
    six["button"][0]["sub_button"] = good["button"][0]["sub_button"] * 2
    no_key = copy.deepcopy(good)
    del no_key["button"][0]["sub_button"][0]["key"]
    for menu, errcode in ((too_many, 40016), (long_name, 40018), (six, 40023), (no_key, 40026)):
        with pytest.raises(WeComAPIError) as refused:
            runtime.client.create_menu(menu)
        assert refused.value.errcode == errcode
    assert fake.state.web.menus == {}


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"button": []}, "1 to 3 buttons"),
        ({"button": [{"type": "click", "name": "答题", "key": "答题"}] * 4}, "1 to 3 buttons"),
        (
            {
                "button": [
                    {"name": "更多", "sub_button": [{"type": "click", "name": "a", "key": "a"}] * 6}
                ]
            },
            "1 to 5",
        ),
        ({"button": [{"type": "click", "name": "安全生产月答题", "key": "答题"}]}, "at most 16"),
        (
            {
                "button": [
                    {"name": "x", "sub_button": [{"type": "click", "name": "很" * 14, "key": "k"}]}
                ]
            },
            "at most 40",
        ),
        ({"button": [{"type": "scancode_push", "name": "扫码", "key": "k"}]}, "type must be"),
        (
            {"button": [{"type": "view", "name": "后台", "url": "{console}"}]},
            "SAFETYBOT_PUBLIC_URL",
        ),
        ({"button": [{"type": "view", "name": "后台", "url": "ftp://x"}]}, "http(s) url"),
        ({"button": [{"type": "click", "name": "答题"}]}, "needs a key"),
        ("just text", "1 to 3 buttons"),
    ],
)
def test_a_bad_menu_is_refused_in_one_line(data, says):
    with pytest.raises(MenuError) as refused:
        build_menu(data)
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_a_click_key_must_be_a_chat_command(runtime, cli_runtime, fake, tmp_path, capsys):
    path = tmp_path / "menu.yaml"
    path.write_text("button:\n  - {type: click, name: 抽奖, key: 抽奖}\n", "utf-8")
    assert run_menu(runtime, cli_runtime, "--file", str(path)) == 2
    err = capsys.readouterr().err.strip()
    assert err == "safetybot menu: click key '抽奖' is no chat command the bot answers"
    assert fake.count("menu/create") == 0


def test_menu_clicks_reach_the_bot_and_the_console_button_signs_in(app, runtime, fake, wecom):
    menu = load_menu(default_path(), CONSOLE)
    keys = {s["name"]: s.get("key") for b in menu["button"] for s in b["sub_button"]}
    reply = wecom.event("liuyang", "click", event_key=keys["安全打卡"]).text
    assert "打卡" in reply
    # The view button: the console's WeCom sign-in, which starts web authorisation.
    response = app.test_client().get("/admin/login/wecom")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(fake.url + "/connect/oauth2/authorize?")
    assert requests.get(response.headers["Location"].split("#")[0], timeout=5).status_code == 200
