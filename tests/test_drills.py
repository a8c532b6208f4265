"""Issue 15: scenarios as content, and desk exercises (桌面推演) in chat.

Two participants and an inject, as each of them and the facilitator read it; resume after a
restart; retried callbacks; the loader refusing broken scenario files with file and line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from drill_helpers import DATA, OFFICER, test_scenarios  # noqa: F401
from sqlalchemy import func, select

from bot.app import create_app
from bot.drills.scenarios import ScenarioError, load_scenarios, parse_scenario
from bot.fake_wecom.driver import flask_post
from bot.models import Drill, DrillAnswer
from bot.runtime import build_runtime


def count(runtime, model, *where):
    with runtime.factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


# -- the loader ---------------------------------------------------------------------------------
def test_test_scenarios_load_in_order():
    found = load_scenarios(DATA)
    fire = found["office-fire"]
    assert [q.id for q in fire.sequence()] == ["s1", "s2", "i1", "s3"]
    assert fire.by_id["s2"].answer == "AC" and fire.by_id["s2"].multiple
    assert fire.by_id["s3"].free and not fire.by_id["s3"].options
    assert [k.name for k in fire.key_times] == ["开始", "疏散完成", "清点完成"]


def test_content_scenarios_if_any_load():
    from bot.content import content_dir

    load_scenarios(content_dir() / "drills")  # refused at start-up if broken


BROKEN = [
    ("title: x\n  bogus: 1\n", "not valid YAML"),
    ("colour: red\n", "unknown field 'colour'"),
    ("answer_outside", "answer 'D' of step s1 is not among the options ABC"),
    ("after_nothing", "inject i1 comes after 's9': no such step"),
    ("duplicate", "id 's1' already used"),
    ("no_source", "has no 'source'"),
]


def _broken(tmp_path: Path, how: str) -> Path:
    text = (DATA / "office-fire.yaml").read_text(encoding="utf-8")
    if how == "answer_outside":
        text = text.replace("answer: B\n    explanation: 发现", "answer: D\n    explanation: 发现")
    elif how == "after_nothing":
        text = text.replace("after: s2", "after: s9")
    elif how == "duplicate":
        text = text.replace("id: s2", "id: s1")
    elif how == "no_source":
        text = text.replace("    source: 《中华人民共和国消防法》第四十四条\n", "")
    else:
        text = how
    path = tmp_path / "office-fire.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("how,message", BROKEN)
def test_broken_scenarios_are_refused_with_file_and_line(tmp_path, how, message):
    path = _broken(tmp_path, how)
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(path)
    assert str(exc.value).startswith(f"{path}:") and message in str(exc.value)
    line = int(str(exc.value).split(":")[1])
    assert line >= 1


# -- a desk exercise ----------------------------------------------------------------------------
def start(wecom, text="推演 开始 office-fire @刘洋 @陈静"):
    return wecom.text(OFFICER, text).text


def test_a_desk_exercise_with_two_participants_and_an_inject(wecom, runtime, fake):
    started = start(wecom)
    assert "已发起第 1 号桌面推演【办公楼火灾疏散演练】，2 人参加" in started
    runtime.sender.drain()
    for who in ("liuyang", "chenjing"):
        pushed = fake.texts_for(who)[-1]
        assert "【桌面推演】办公楼火灾疏散演练" in pushed and "第1/4题" in pushed
        assert "B. 立即报警并呼喊周围同事" in pushed
    transcript = []

    def say(who, text):
        reply = wecom.text(who, text).text
        transcript.append((who, text, reply))
        return reply

    # 刘洋 answers by letter right after the push (no command needed); a wrong answer gets a hint.
    assert "请回复选项中的一个字母（A～C）" in say("liuyang", "D")
    assert "回答正确" in say("liuyang", "B") and "第2/4题" in transcript[-1][2]
    assert "已记录您的答案" in say("liuyang", "A")  # one letter to a multiple choice: wrong
    assert "【突发情况】有同事报告" in transcript[-1][2]  # the inject follows step s2
    # 陈静 answers with 1/2/3 and 选… forms.
    assert "回答正确" in say("chenjing", "选2")
    assert "回答正确" in say("chenjing", "A、C")
    # The facilitator sends the inject to everyone (陈静 already has it next: no double push).
    inject = say(OFFICER, "推演 插入")
    assert "突发情况 i1 已发给 2 位" in inject
    assert "第4/4题" in say("liuyang", "2")
    assert "主持人会看到" in transcript[-1][2]
    assert "进度" in say(OFFICER, "推演 进度")
    assert "刘洋 3/4" in transcript[-1][2] and "陈静 2/4" in transcript[-1][2]
    end = say("liuyang", "按名单逐一清点并报告指挥")
    assert "【桌面推演结果】办公楼火灾疏散演练" in end and "您答对 2/3 道选择题" in end
    assert "正确答案：AC；您的回答：A✗" in end and "依据：" in end
    assert "没有需要参加的桌面推演" in say("liuyang", "推演")
    # 陈静 finishes: the exercise ends and the facilitator gets the group's answers.
    assert "第4/4题" in say("chenjing", "B")
    last = say("chenjing", "部门负责人清点")
    assert "您答对 3/3 道选择题" in last
    runtime.sender.drain()
    group = fake.texts_for(OFFICER)[-1]
    assert "第 1 号桌面推演【办公楼火灾疏散演练】全组答题情况（2 人）" in group
    assert "s2：正确答案 AC；A 1 人，AC 1 人" in group
    assert "刘洋：按名单逐一清点并报告指挥" in group and "陈静 3/3，刘洋 2/3" in group
    with runtime.factory() as s:
        assert s.scalar(select(Drill.status)) == "ended"
    assert count(runtime, DrillAnswer) == 8
    print("\n".join(f"{w}> {t}\n{r}" for w, t, r in transcript))


def test_facilitator_moves_everyone_on_and_ends(wecom, runtime, fake):
    start(wecom, "推演 开始 office-fire 生产一车间")  # liqiang, liuyang, chenjing
    wecom.text("liuyang", "B")
    assert "已让 3 位参加人进入下一题" in wecom.text(OFFICER, "推演 下一步").text
    runtime.sender.drain()
    assert "主持人宣布进入下一题" in fake.texts_for("chenjing")[-1]
    assert "第2/4题" in fake.texts_for("chenjing")[-1]
    assert "桌面推演【办公楼火灾疏散演练】已结束" in wecom.text(OFFICER, "推演 结束").text
    runtime.sender.drain()
    assert "【桌面推演结果】" in fake.texts_for("chenjing")[-1]
    assert "全组答题情况（3 人）" in fake.texts_for(OFFICER)[-1]


def test_resume_after_restart_and_retried_callbacks(wecom, runtime, fake, settings, clock):
    start(wecom)
    wecom.text("liuyang", "B", msg_id="retry-1")
    again = wecom.text("liuyang", "B", msg_id="retry-1")  # WeCom retries the same MsgId
    assert again.status == 200
    assert count(runtime, DrillAnswer) == 1
    assert "已暂停" in wecom.text("liuyang", "暂停").text
    clock.advance(hours=3)
    rt2 = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    try:
        app2 = create_app(runtime=rt2)
        app2.testing = True
        from conftest import TestDriver

        w2 = TestDriver(rt2, fake, flask_post(app2.test_client()))
        back = w2.text("liuyang", "推演").text
        assert "继续桌面推演【办公楼火灾疏散演练】（已答 1/4 题）" in back and "第2/4题" in back
        assert "【突发情况】" in w2.text("liuyang", "AC").text
    finally:
        rt2.close()
    assert count(runtime, DrillAnswer) == 2


def test_bad_starts_are_refused(wecom):
    assert "没有演练场景「nope」" in start(wecom, "推演 开始 nope 生产一车间")
    assert "1 办公楼火灾疏散演练" in start(wecom, "推演 开始 nope 生产一车间")
    assert "找不到部门或人员「火星」" in start(wecom, "推演 开始 1 火星")
    assert "用法" in start(wecom, "推演 开始 1")
    assert "仅限管理员" in wecom.text("liuyang", "推演 开始 1 生产一车间").text
    assert "1. 办公楼火灾疏散演练（4 题）" in wecom.text("liuyang", "推演 场景").text


def test_the_demo_has_a_desk_exercise_ready(wecom, runtime, clock):
    from bot.db import transaction
    from bot.demo.run import demo_desk_exercise

    with transaction(runtime.factory) as s:
        assert demo_desk_exercise(s, clock()) is not None
    reply = wecom.text("liuyang", "推演").text
    assert "开始桌面推演【办公楼火灾疏散演练】" in reply and "第1/4题" in reply
