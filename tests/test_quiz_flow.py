"""The daily quiz through the real callback path: text and cards, scoring, streaks, review."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from bot.db import transaction
from bot.models import Question, QuizAnswer, QuizDailySet, QuizReview
from bot.quiz.answers import LETTERS, to_shown


def pending(runtime, userid):
    """(daily set, index, question, the right answer in the letters this person sees)."""
    with runtime.factory() as s:
        ds = s.scalar(
            select(QuizDailySet)
            .where(QuizDailySet.userid == userid)
            .order_by(QuizDailySet.day.desc())
        )
        done = set(s.scalars(select(QuizAnswer.question_index).where(QuizAnswer.set_id == ds.id)))
        index = next((i for i in range(len(ds.question_ids)) if i not in done), None)
        if index is None:
            return ds, None, None, None
        q = s.get(Question, ds.question_ids[index])
        return ds, index, q, to_shown(q.answer, ds.permutations[index], q.type)


def wrong_for(q, right):
    if q.type == "judge":
        return "F" if right == "T" else "T"
    letters = LETTERS[: len(q.options)]
    return (
        next(c for c in letters if c != right[0])
        if q.type == "single"
        else ("A" if right != "A" else "B")
    )


def typed(q, shown):
    if q.type == "judge":
        return "对" if shown == "T" else "错"
    return " ".join(shown.lower())  # forgiving input: "a c"


def points(runtime, userid):
    with runtime.factory() as s:
        return s.scalar(
            select(func.coalesce(func.sum(QuizAnswer.points), 0)).where(QuizAnswer.userid == userid)
        )


def test_daily_quiz_by_text(wecom, runtime):
    first = wecom.text("liuyang", "答题").text
    assert "今天共 3 题" in first and "第1/3题（" in first
    ds, index, q, right = pending(runtime, "liuyang")
    assert index == 0 and len(ds.question_ids) == 3
    # The question as shown lists the options in this person's order.
    if q.type != "judge":
        for pos, stored in enumerate(ds.permutations[0]):
            assert f"{LETTERS[pos]}. {q.options[stored]}" in first
    reply = wecom.text("liuyang", typed(q, right)).text
    assert "回答正确" in reply and "+10 分" in reply and "第2/3题" in reply
    assert q.explanation[:10] in reply and "出处" in reply
    _, index, q, right = pending(runtime, "liuyang")
    wrong = wrong_for(q, right)
    reply = wecom.text("liuyang", typed(q, wrong)).text
    shown_right = {"T": "对", "F": "错"}.get(right, right) if q.type == "judge" else right
    assert "回答错误" in reply and f"正确答案：{shown_right}" in reply and "第3/3题" in reply
    _, index, q, right = pending(runtime, "liuyang")
    reply = wecom.text("liuyang", typed(q, right)).text
    assert "今日答题完成" in reply and "答对 2/3 题" in reply and "获得 20 分" in reply
    assert "连续答题 1 天" in reply
    assert points(runtime, "liuyang") == 20
    # Done for today: 答题 says so; a stray "A" is no longer an answer.
    assert "已经答完" in wecom.text("liuyang", "答题").text
    assert "没有看懂" in wecom.text("liuyang", "A").text


def test_junk_gets_a_hint_and_other_commands_still_work(wecom, runtime):
    wecom.text("zhaolei", "答题")
    _, _, q, _ = pending(runtime, "zhaolei")
    hint = wecom.text("zhaolei", "不知道").text
    assert ("回复「对」或「错」" in hint) if q.type == "judge" else ("请回复" in hint)
    assert (
        "答题" in wecom.text("zhaolei", "帮助").text
        and "隐患" in wecom.text("zhaolei", "帮助").text
    )
    assert points(runtime, "zhaolei") == 0
    # The question is still pending after the detour.
    _, index, q, right = pending(runtime, "zhaolei")
    assert index == 0
    assert "回答正确" in wecom.text("zhaolei", typed(q, right)).text


def test_same_person_same_day_same_set_and_stop(wecom, runtime):
    one = wecom.text("chenjing", "答题").text
    assert "已暂停" in wecom.text("chenjing", "结束").text
    again = wecom.text("chenjing", "答题").text
    assert one.split("\n\n", 1)[1] == again.split("\n\n", 1)[1]


def _answer_all(wecom, runtime, userid, *, correct=True):
    wecom.text(userid, "答题")
    while True:
        _, index, q, right = pending(runtime, userid)
        if index is None:
            return
        wecom.text(userid, typed(q, right if correct else wrong_for(q, right)))


def test_streak_and_points_across_days(wecom, runtime, clock):
    for _ in range(3):
        _answer_all(wecom, runtime, "huangli")
        clock.advance(days=1)
    reply = wecom.text("huangli", "积分").text
    assert "累计积分：90 分" in reply and "连续答题：3 天" in reply
    assert "第 1 名" in reply and "答对一题得 10 分" in reply
    clock.advance(days=1)  # a day missed: the streak starts again
    _answer_all(wecom, runtime, "huangli")
    assert "连续答题：1 天" in wecom.text("huangli", "积分").text


def test_ranking_people_and_departments(wecom, runtime):
    _answer_all(wecom, runtime, "liuyang")  # dept 3, 30 points
    _answer_all(wecom, runtime, "zhaolei", correct=False)  # dept 4, 0 points
    reply = wecom.text("wuxia", "排行").text
    assert "1. 刘洋  30 分" in reply
    assert "部门人均积分" in reply and "生产一车间  人均 10.0 分（3 人）" in reply
    assert "部门参与率" in reply and "生产二车间  33%（1/3 人）" in reply


def test_wrong_answer_comes_back_on_days_2_4_8(wecom, runtime, clock):
    clock.set_local("2026-06-01 09:00")
    wecom.text("sunyu", "答题")
    _, _, q, right = pending(runtime, "sunyu")
    wecom.text("sunyu", typed(q, wrong_for(q, right)))
    missed = q.id
    _answer_all(wecom, runtime, "sunyu")
    seen_on = []
    for day in range(2, 10):
        clock.set_local(f"2026-06-{day:02d} 09:00")
        wecom.text("sunyu", "答题")
        ds, _, _, _ = pending(runtime, "sunyu")
        if missed in ds.question_ids:
            seen_on.append(day)
        _answer_all(wecom, runtime, "sunyu")  # all correct: the schedule advances
    assert seen_on == [2, 4, 8]
    with runtime.factory() as s:
        assert s.get(QuizReview, ("sunyu", missed)).due_on is None  # mastered


def test_review_book_practice(wecom, runtime):
    assert "没有待复习的错题" in wecom.text("wuxia", "错题").text
    _answer_all(wecom, runtime, "wuxia", correct=False)
    reply = wecom.text("wuxia", "错题").text
    assert "共 3 道错题" in reply
    for _ in range(3):
        conv_q = _current_flow_question(runtime, "wuxia")
        reply = wecom.text("wuxia", conv_q).text
    assert "错题复习完成" in reply and "答对 3 题" in reply
    assert points(runtime, "wuxia") == 0  # review is unscored


def _current_flow_question(runtime, userid):
    from bot.models import Conversation

    with runtime.factory() as s:
        data = s.get(Conversation, userid).data
        q = s.get(Question, data["qid"])
        right = to_shown(q.answer, data["perm"], q.type)
    return typed(q, right)


def test_practice_by_theme_until_stop(wecom, runtime):
    reply = wecom.text("xuhao", "练习 急救").text
    assert "练习模式" in reply and "第1题" in reply
    with runtime.factory() as s:
        from bot.models import Conversation

        assert s.get(Question, s.get(Conversation, "xuhao").data["qid"]).theme == "firstaid"
    for n in range(2, 5):
        reply = wecom.text("xuhao", _current_flow_question(runtime, "xuhao")).text
        assert "回答正确" in reply and f"第{n}题" in reply
    assert "本次练习 3 题，答对 3 题" in wecom.text("xuhao", "结束").text
    assert "没有找到主题" in wecom.text("xuhao", "练习 天文").text
    assert points(runtime, "xuhao") == 0


# -- cards -------------------------------------------------------------------------------------
def _card_messages(fake, userid):
    return [
        m["template_card"] for m in fake.messages_for(userid) if m.get("msgtype") == "template_card"
    ]


def test_push_card_start_button_and_vote_card_answers(wecom, runtime, fake, clock):
    from scheduler import jobs

    with transaction(runtime.factory) as s:
        jobs.push_daily_quiz(s, runtime, clock())
    runtime.sender.drain()
    push = _card_messages(fake, "liqiang")[-1]
    assert push["card_type"] == "button_interaction"
    key = push["button_list"][0]["key"]
    assert key.startswith("quiz:start")
    assert _card_messages(fake, "sunyu")[-1] == push  # one broadcast, the same card for all

    wecom.card_event("liqiang", key, push["task_id"], card_type="button_interaction")
    runtime.sender.drain()
    card = _card_messages(fake, "liqiang")[-1]
    assert card["card_type"] == "vote_interaction"
    ds, index, q, right = pending(runtime, "liqiang")
    assert card["task_id"].startswith(f"quiz-{ds.id}-0-") and len(card["task_id"]) <= 128
    assert card["checkbox"]["mode"] == (1 if q.type == "multiple" else 0)
    assert card["submit_button"]["key"]
    ids = [o["id"] for o in card["checkbox"]["option_list"]]
    assert ids == (["T", "F"] if q.type == "judge" else list(LETTERS[: len(q.options)]))

    # Answer with the card (one or several selected OptionIds).
    wecom.card_event(
        "liqiang",
        card["submit_button"]["key"],
        card["task_id"],
        selected={card["checkbox"]["question_key"]: list(right)},
        response_code="rc-1",
    )
    runtime.sender.drain()
    updated = [u for u in fake.updated_cards if u["response_code"] == "rc-1"]
    assert len(updated) == 1
    replaced = updated[0]["template_card"]
    assert replaced["replace_text"] == "已作答：正确" and replaced["checkbox"]["disable"] is True
    assert {o["id"] for o in replaced["checkbox"]["option_list"] if o["is_checked"]} == set(right)
    assert points(runtime, "liqiang") == 10
    texts = fake.texts_for("liqiang")
    assert any("回答正确" in t for t in texts)
    nxt = _card_messages(fake, "liqiang")[-1]
    assert nxt["task_id"].startswith(f"quiz-{ds.id}-1-")
    # Typing also works for the next question: text and cards share the pending question.
    _, index, q, right = pending(runtime, "liqiang")
    assert index == 1
    assert "回答正确" in wecom.text("liqiang", typed(q, right)).text


def test_card_with_several_selected_items_multiple_choice(wecom, runtime, fake):
    wecom.text("yangmin", "答题")
    ds, _, _, _ = pending(runtime, "yangmin")
    # Make question 0 a known multiple-choice question for this test.
    with transaction(runtime.factory) as s:
        qid = s.scalar(
            select(Question.id)
            .where(Question.type == "multiple", Question.active.is_(True))
            .limit(1)
        )
        row = s.get(QuizDailySet, ds.id)
        q = s.get(Question, qid)
        row.question_ids = [qid, *row.question_ids[1:]]
        row.permutations = [list(range(len(q.options)))[::-1], *row.permutations[1:]]
        perm = row.permutations[0]
        right = to_shown(q.answer, perm, "multiple")
    assert len(right) >= 2
    task = f"quiz-{ds.id}-0-abcd1234"
    wecom.card_event(
        "yangmin", "quiz:submit", task, selected={"answer": list(right)}, response_code="rc-multi"
    )
    # A second submission (another click) is told it was already answered and scores nothing.
    wecom.card_event(
        "yangmin",
        "quiz:submit",
        task,
        selected={"answer": [right[0]]},
        response_code="rc-multi-2",
        create_time=int(time.time()) - 5,
    )
    runtime.sender.drain()
    cards = {u["response_code"]: u["template_card"] for u in fake.updated_cards}
    assert cards["rc-multi"]["replace_text"] == "已作答：正确"
    assert cards["rc-multi"]["checkbox"]["mode"] == 1
    assert cards["rc-multi-2"]["replace_text"].startswith("已作答（")
    assert points(runtime, "yangmin") == 10
    assert any("已经答过了" in t for t in fake.texts_for("yangmin"))


def test_someone_elses_card_is_refused(wecom, runtime):
    wecom.text("liuyang", "答题")
    ds, _, _, right = pending(runtime, "liuyang")
    reply = wecom.card_event(
        "zhaolei", "quiz:submit", f"quiz-{ds.id}-0-ffff0000", selected={"answer": list(right)}
    )
    assert "不是您的" in reply.text
    assert points(runtime, "zhaolei") == 0 and points(runtime, "liuyang") == 0


def test_fifty_concurrent_answers_score_once(wecom, runtime, fake):
    wecom.text("zhoujie", "答题")
    ds, _, q, right = pending(runtime, "zhoujie")
    task = f"quiz-{ds.id}-0-0123abcd"
    barrier = threading.Barrier(50)
    results, errors = [], []
    base = int(time.time())

    def send(i):
        barrier.wait()
        try:
            results.append(
                wecom.card_event(
                    "zhoujie",
                    "quiz:submit",
                    task,
                    selected={"answer": list(right)},
                    response_code=f"rc-{i}",
                    create_time=base - i,
                )
            )
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and [r.status for r in results] == [200] * 50
    with runtime.factory() as s:
        rows = s.scalars(select(QuizAnswer).where(QuizAnswer.set_id == ds.id)).all()
    assert len(rows) == 1 and rows[0].correct and rows[0].points == 10
    # Every click got its answer (the stored replies: the sender paces the actual card updates
    # at WeCom's 30 messages per member per minute).
    from bot.models import InboundMessage

    with runtime.factory() as s:
        replies = [
            r
            for r in s.scalars(
                select(InboundMessage.reply).where(
                    InboundMessage.userid == "zhoujie",
                    InboundMessage.event == "template_card_event",
                )
            )
        ]
    replaced = [r["card_update"]["replace_text"] for r in replies]
    assert len(replaced) == 50
    assert replaced.count("已作答：正确") == 1
    assert replaced.count("已作答（以第一次作答为准）") == 49
    runtime.sender.drain()
    assert fake.updated_cards and all(
        u["template_card"]["task_id"] == task for u in fake.updated_cards
    )


def test_stats_include_quiz_answers(wecom, runtime, capsys, monkeypatch):
    _answer_all(wecom, runtime, "liuyang")
    from bot.stats import compute_stats

    with runtime.factory() as s:
        stats = compute_stats(s, runtime.clock())
    assert stats["quiz_answers"] == 3 and stats["quiz_correct_rate"] == 1.0
