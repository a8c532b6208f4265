"""安全征文 / 安全随手拍 in chat: a contest opened by the officer, an essay and a photo entry
(two photos, one before and one after 随手拍), refusals after the deadline, a rejection with
its reason reaching the author, voting by card and by text with the refusals, retried
callbacks, and the results announced once while two runtimes race."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.db import transaction
from bot.exports import write_xlsx
from bot.models import Conversation, HazardReport, Submission, SubmissionPhoto, SubmissionVote
from bot.runtime import build_runtime
from bot.stats import compute_stats
from bot.submissions.contests import open_contest
from bot.submissions.entries import review
from bot.submissions.export import export_sheets
from bot.submissions.voting import tick
from scheduler.registry import catch_up

ESSAY = (
    "我身边的安全故事：去年冬天，车间的老师傅在交接班时发现配电柜门没有关好，"
    "他没有嫌麻烦，而是停下来检查、上锁、挂牌，还在班前会上提醒大家。"
)


def open_essay_and_photo(runtime, clock, **kw):
    values = dict(
        theme="我身边的安全",
        kind="both",
        submit_until=date(2026, 6, 10),
        vote_until=date(2026, 6, 12),
        created_by="wangfang",
    )
    values.update(kw)
    with transaction(runtime.factory) as s:
        contest, _ = open_contest(s, now=clock(), tz=runtime.settings.tz, **values)
        cid = contest.id
    runtime.sender.drain()
    return cid


def entries(runtime, userid=None):
    with runtime.factory() as s:
        q = select(Submission).order_by(Submission.id)
        if userid:
            q = q.where(Submission.userid == userid)
        return list(s.scalars(q))


def photos_of(runtime, entry_id):
    with runtime.factory() as s:
        return list(
            s.scalars(
                select(SubmissionPhoto)
                .where(SubmissionPhoto.submission_id == entry_id)
                .order_by(SubmissionPhoto.id)
            )
        )


def accept_all(runtime, clock):
    with transaction(runtime.factory) as s:
        for e in s.scalars(select(Submission)):
            review(s, e, True, "wangfang", clock())


def test_officer_opens_in_chat_and_staff_are_told_once(wecom, runtime, fake):
    refused = wecom.text("liuyang", "征集 发起 我身边的安全 征文 6月20日").text
    assert "仅限管理员" in refused
    hint = wecom.text("wangfang", "征集 发起 我身边的安全").text
    assert "征集 发起 主题 征文/随手拍/都 截止日期" in hint
    reply = wecom.text("wangfang", "征集 发起 我身边的安全 都 6月20日 6月25日").text
    assert "已发起征文和随手拍活动「我身边的安全」" in reply and "投稿截止6月20日" in reply
    assert "投票截止6月25日" in reply and "已通知 12 人" in reply
    runtime.sender.drain()
    [notice] = [t for t in fake.texts_for("zhaolei") if "活动开始啦" in t]
    assert "主题：我身边的安全" in notice and "征文 正文" in notice and "随手拍 说明" in notice
    listing = wecom.text("zhaolei", "征集").text
    assert "投稿截止6月20日" in listing
    assert "已经过去" in wecom.text("wangfang", "征集 发起 旧主题 征文 6月1日").text


def test_essay_entry_limits_and_my_entries(wecom, runtime, clock):
    open_essay_and_photo(runtime, clock)
    assert "正文 30 至 2000 字" in wecom.text("liuyang", "征文").text
    short = wecom.text("liuyang", "征文 注意安全").text
    assert "正文太短了（4 字）" in short and "至少 30 字" in short
    assert "最多 2000 字" in wecom.text("liuyang", "征文 " + "安" * 2001).text
    multi = "征文 " + ESSAY + "\n第二段：安全没有旁观者，人人都是安全员，我们每个人都要做到。"
    reply = wecom.text("liuyang", multi).text
    assert "征文已收到（投稿编号" in reply and "主题「我身边的安全」" in reply
    [entry] = entries(runtime, "liuyang")
    assert "\n第二段" in entry.text and entry.department_id == 3 and entry.status == "pending"
    mine = wecom.text("liuyang", "我的投稿").text
    assert "【我的投稿】共 1 件" in mine and "待审核" in mine and "征文" in mine


def test_photo_entry_with_a_photo_before_and_one_after(wecom, runtime, fake, clock):
    open_essay_and_photo(runtime, clock)
    fake.add_media("media-before", b"\x89PNG-before", "image/png")
    fake.add_media("media-after", b"\xff\xd8-after", "image/jpeg")
    # A photo alone starts a hazard report draft ...
    first = wecom.image("chenjing", "media-before").text
    assert "要上报隐患吗" in first
    clock.advance(minutes=1)
    # ... and 随手拍 right after takes that photo (no hazard report, nothing paused).
    reply = wecom.text("chenjing", "随手拍 车间安全通道畅通整洁，标识清楚").text
    assert "随手拍已收到" in reply and "已有 1 张照片" in reply and "暂停" not in reply
    clock.advance(minutes=2)
    assert "第 2 张照片已加入投稿" in wecom.image("chenjing", "media-after").text
    assert "共 2 张照片" in wecom.text("chenjing", "好了").text
    [entry] = entries(runtime, "chenjing")
    assert entry.kind == "photo" and entry.text == "车间安全通道畅通整洁，标识清楚"
    stored = photos_of(runtime, entry.id)
    assert [p.status for p in stored] == ["stored", "stored"]
    files = Path(runtime.settings.files_dir)
    assert [(files / p.path).read_bytes() for p in stored] == [b"\x89PNG-before", b"\xff\xd8-after"]
    assert stored[1].path.startswith("submissions/")
    # No hazard report was filed, and no draft is left waiting for a description.
    with runtime.factory() as s:
        assert s.scalar(select(func.count()).select_from(HazardReport)) == 0
        assert s.get(Conversation, "chenjing") is None
    mine = wecom.text("chenjing", "我的投稿").text
    assert "（2 张照片）" in mine


def test_caption_first_then_photos_and_a_retry(wecom, runtime, fake, clock):
    open_essay_and_photo(runtime, clock)
    fake.add_media("m1")
    reply = wecom.text("zhaolei", "随手拍 配电箱上锁挂牌", msg_id="77001").text
    again = wecom.text("zhaolei", "随手拍 配电箱上锁挂牌", msg_id="77001").text
    assert reply == again and "请在 5 分钟内发送照片" in reply
    assert len(entries(runtime, "zhaolei")) == 1
    assert "第 1 张照片已加入" in wecom.image("zhaolei", "m1").text
    # After the window a photo is a hazard photo again.
    clock.advance(minutes=6)
    fake.add_media("m2")
    assert "要上报隐患吗" in wecom.image("zhaolei", "m2").text
    assert len(photos_of(runtime, entries(runtime, "zhaolei")[0].id)) == 1


def test_after_the_deadline_is_refused_with_the_date(wecom, runtime, clock):
    open_essay_and_photo(runtime, clock, kind="essay")
    clock.set_local("2026-06-11 08:00")
    reply = wecom.text("liuyang", "征文 " + ESSAY).text
    assert reply == "「我身边的安全」已于6月10日截止投稿，感谢您的热情参与，欢迎参加投票。"
    assert "目前没有随手拍活动" in wecom.text("liuyang", "随手拍 楼道整洁").text
    assert entries(runtime) == []


def test_reject_with_reason_reaches_the_author(wecom, runtime, fake, clock):
    open_essay_and_photo(runtime, clock)
    wecom.text("liuyang", "征文 " + ESSAY)
    [entry] = entries(runtime)
    with transaction(runtime.factory) as s:
        e = s.get(Submission, entry.id)
        review(s, e, False, "wangfang", clock(), reason="内容与主题不符，请围绕身边的安全")
    runtime.sender.drain()
    [notice] = [t for t in fake.texts_for("liuyang") if "未通过审核" in t]
    assert "原因：内容与主题不符，请围绕身边的安全" in notice and "我身边的安全" in notice
    mine = wecom.text("liuyang", "我的投稿").text
    assert "未通过（原因：内容与主题不符" in mine


def test_voting_by_card_and_text_with_refusals(wecom, runtime, fake, clock):
    open_essay_and_photo(runtime, clock)
    wecom.text("liuyang", "征文 " + ESSAY)
    wecom.text("chenjing", "随手拍 车间安全通道畅通整洁")
    wecom.text("chenjing", "好了")
    accept_all(runtime, clock)
    assert "投票还没有开始，6月11日起可以投票" in wecom.text("zhaolei", "投票 1").text
    clock.set_local("2026-06-11 08:00")
    with transaction(runtime.factory) as s:
        assert "vote cards for 1" in tick(s, runtime, clock())
    runtime.sender.drain()
    intro = [t for t in fake.texts_for("zhaolei") if "投票开始" in t][0]
    assert "1. 征文 刘洋" in intro and "2. 随手拍 陈静" in intro
    [card] = [
        m["template_card"] for m in fake.messages_for("zhaolei") if m["msgtype"] == "template_card"
    ]
    assert card["card_type"] == "vote_interaction"
    assert [o["id"] for o in card["checkbox"]["option_list"]] == ["1", "2"]
    key, task = card["submit_button"]["key"], card["task_id"]

    # By card; the retried callback (same CreateTime) changes nothing.
    click = wecom.card_event("zhaolei", key, task, selected={"entry": ["2"]}, create_time=1700)
    assert click.text == "投票成功：您投给了 2 号作品。「我身边的安全」结果将在投票结束后公布。"
    assert fake.updated_cards[-1]["template_card"]["replace_text"] == "已投 2 号"
    wecom.card_event("zhaolei", key, task, selected={"entry": ["2"]}, create_time=1700)
    # A second vote, by text or card, is refused in one line.
    assert wecom.text("zhaolei", "投票 1").text == "您已经投过票了（投给了 2 号），每人只能投一票。"
    again = wecom.card_event("zhaolei", key, task, selected={"entry": ["1"]}, create_time=1701)
    assert again.text == "您已经投过票了（投给了 2 号），每人只能投一票。"
    # One's own entry is refused; by text a retry counts once.
    assert wecom.text("liuyang", "投票 1").text == "不能给自己的作品投票，请选择其他作品。"
    assert "投票成功" in wecom.text("liuyang", "投票 2", msg_id="88001").text
    assert "投票成功" in wecom.text("liuyang", "投票 2", msg_id="88001").text
    assert "1 到 2" in wecom.text("huangli", "投票 9").text
    assert "1. 征文 刘洋" in wecom.text("huangli", "投票").text
    with runtime.factory() as s:
        assert s.scalar(select(func.count()).select_from(SubmissionVote)) == 2
    # After the close: one line.
    clock.set_local("2026-06-13 08:00")
    assert wecom.text("huangli", "投票 1").text == "投票已于6月12日结束，感谢关注，结果已公布。"
    with runtime.factory() as s:
        stats = compute_stats(s, clock())
    assert stats["submissions"] == 2 and stats["votes"] == 2


def test_late_vote_on_the_card_is_refused(wecom, runtime, fake, clock):
    open_essay_and_photo(runtime, clock)
    wecom.text("liuyang", "征文 " + ESSAY)
    accept_all(runtime, clock)
    clock.set_local("2026-06-11 08:00")
    with transaction(runtime.factory) as s:
        tick(s, runtime, clock())
    runtime.sender.drain()
    [card] = [
        m["template_card"] for m in fake.messages_for("sunyu") if m["msgtype"] == "template_card"
    ]
    clock.set_local("2026-06-13 00:05")
    late = wecom.card_event(
        "sunyu", card["submit_button"]["key"], card["task_id"], selected={"entry": ["1"]}
    )
    assert late.text == "投票已于6月12日结束，感谢关注，结果已公布。"


def test_results_announced_once_with_two_runtimes_racing(
    wecom, runtime, fake, clock, settings, tmp_path
):
    open_essay_and_photo(runtime, clock)
    wecom.text("liuyang", "征文 " + ESSAY)
    wecom.text("chenjing", '征文 =HYPERLINK("http://evil") ' + ESSAY)
    accept_all(runtime, clock)
    clock.set_local("2026-06-11 08:00")
    wecom.text("zhaolei", "投票 2")
    wecom.text("sunyu", "投票 2")
    wecom.text("chenjing", "投票 1")
    clock.set_local("2026-06-13 00:01")
    others = [build_runtime(settings, clock=clock, client_sleep=lambda _s: None) for _ in range(2)]
    try:
        threads = [
            threading.Thread(target=lambda rt=rt: (catch_up(rt), rt.sender.drain()))
            for rt in others
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        for rt in others:
            rt.close()
    runtime.sender.drain()
    for userid in ("liuyang", "chenjing", "zhaolei", "sunyu"):
        results = [t for t in fake.texts_for(userid) if "评选结果" in t]
        assert len(results) == 1, userid
    [text] = [t for t in fake.texts_for("zhaolei") if "评选结果" in t]
    assert "第 1 名 陈静（生产一车间）" in text and "2 票" in text and "共 3 人投票" in text
    assert not [t for t in fake.texts_for("huangli") if "评选结果" in t]

    # The export, opened as an officer would: the entry starting with "=" stays text.
    with runtime.factory() as s:
        sheets = export_sheets(s, runtime.settings.tz)
    write_xlsx(tmp_path / "submissions.xlsx", sheets)
    wb = load_workbook(tmp_path / "submissions.xlsx")
    rows = list(wb["投稿明细"].iter_rows(values_only=False))
    header = [c.value for c in rows[0]]
    chen = [r for r in rows[1:] if r[header.index("账号")].value == "chenjing"][0]
    cell = chen[header.index("内容")]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    results = list(wb["评选结果"].iter_rows(values_only=True))
    assert results[1][2] == 1 and results[1][5] == "陈静" and results[1][8] == 2
