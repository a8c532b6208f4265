"""报送: departments report what they did. The chat conversation (bad input, a retried
callback), delegates, the console's list, form and send-back (CSRF, audit, the filer told in
chat, resubmission with history), the photo job and the campaign summary."""

from __future__ import annotations

from io import BytesIO

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.activity.photos import fetch_pending
from bot.console.report import write_report
from bot.console.testing import add_account, csrf_from, login
from bot.db import transaction
from bot.fake_wecom.server import PNG_1PX
from bot.models import (
    ActivityPhoto,
    ActivityReport,
    ActivityReportEvent,
    AuditLog,
)


def count(runtime, model, *where) -> int:
    with runtime.factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def file_in_chat(wecom, userid="liqiang", msg_id="confirm-1", photos=("media-a",)) -> str:
    """The whole conversation, right the first time; returns the last answer."""
    wecom.text(userid, "报送")
    wecom.text(userid, "1")
    wecom.text(userid, "昨天")
    wecom.text(userid, "一车间会议室")
    wecom.text(userid, "讲解有限空间作业先通风、再检测、后作业")
    wecom.text(userid, "25")
    for media in photos:
        wecom.fake.add_media(media)
        wecom.image(userid, media)
    wecom.text(userid, "好了" if photos else "跳过")
    return wecom.text(userid, "确认", msg_id=msg_id).text


def test_chat_transcript_with_bad_input_and_a_retried_callback(wecom, runtime):
    start = wecom.text("liqiang", "报送").text
    assert "1. 安全宣讲" in start and "2. 班前会" in start and "“五进”宣传" in start
    assert "序号（1 到 7）" in wecom.text("liqiang", "9").text
    assert "哪天" in wecom.text("liqiang", "2").text  # 班前会
    # a date in the future, then one that is no date: one-line hints
    future = wecom.text("liqiang", "6月12日").text
    assert future == "2026-06-12 还没到，只能报送已经开展的活动，请回复活动当天的日期。"
    assert "没看懂" in wecom.text("liqiang", "下个月吧").text
    assert "地点" in wecom.text("liqiang", "今天").text
    assert "内容" in wecom.text("liqiang", "一车间班组休息室").text
    assert "参加人数" in wecom.text("liqiang", "班前会讲解叉车盲区").text
    for bad in ("0", "-3", "二十", "2.5"):
        hint = wecom.text("liqiang", bad).text
        assert hint == "参加人数请回复一个大于 0 的整数，例如「25」。", bad
    assert "照片" in wecom.text("liqiang", "18人").text
    wecom.fake.add_media("m-photo-1")
    assert "第 1 张" in wecom.image("liqiang", "m-photo-1").text
    confirm = wecom.text("liqiang", "好了").text
    assert "类型：班前会" in confirm and "人数：18 人" in confirm and "照片：1 张" in confirm
    assert "回复「确认」" in wecom.text("liqiang", "嗯").text
    filed = wecom.text("liqiang", "确认", msg_id="retried-1").text
    assert filed.startswith("已报送（编号") and "生产一车间「班前会」" in filed
    # WeCom retries the same callback: still one report
    wecom.text("liqiang", "确认", msg_id="retried-1")
    assert count(runtime, ActivityReport) == 1
    with runtime.factory() as s:
        r = s.scalars(select(ActivityReport)).one()
        assert (r.kind, r.head_count, r.department_id, r.filed_by) == ("preshift", 18, 3, "liqiang")
        assert r.held_on.isoformat() == "2026-06-05" and r.place == "一车间班组休息室"
        assert r.source_key == "chat:msg:retried-1"
        assert [p.media_id for p in s.scalars(select(ActivityPhoto))] == ["m-photo-1"]


def test_cancel_and_who_may_file(wecom, runtime):
    assert "部门负责人" in wecom.text("liuyang", "报送").text
    wecom.text("liqiang", "报送")
    assert "已取消" in wecom.text("liqiang", "取消").text
    assert count(runtime, ActivityReport) == 0
    # the head names a delegate, who is told and may then file
    added = wecom.text("liqiang", "报送 委托 刘洋").text
    assert added == "已请 刘洋 代 生产一车间 报送活动。"
    runtime.sender.drain()
    assert any("代 生产一车间 报送" in t for t in wecom.fake.texts_for("liuyang"))
    assert "已经是" in wecom.text("liqiang", "报送 委托 刘洋").text
    assert "只有部门负责人" in wecom.text("liuyang", "报送 委托 陈静").text
    assert file_in_chat(wecom, "liuyang", photos=()).startswith("已报送")
    assert "已取消 刘洋" in wecom.text("liqiang", "报送 取消委托 刘洋").text
    assert "部门负责人" in wecom.text("liuyang", "报送").text
    listing = wecom.text("liqiang", "报送 记录").text
    assert "安全宣讲｜25 人｜已报送" in listing


def test_console_list_send_back_and_resubmit(wecom, runtime, app, clock):
    file_in_chat(wecom)
    with runtime.factory() as s:
        report_id = s.scalar(select(ActivityReport.id))
    add_account(runtime.factory, "officer", role="safety_officer", now=clock())
    client = app.test_client()
    login(client, "officer")
    page = client.get("/admin/activities").get_data(as_text=True)
    assert "生产一车间（1 场）" in page and "安全宣讲" in page and "一车间会议室" in page
    detail = client.get(f"/admin/activities/{report_id}").get_data(as_text=True)
    assert "讲解有限空间作业" in detail and 'id="return-form"' in detail
    # no CSRF token: refused, nothing changed
    r = client.post(f"/admin/activities/{report_id}/return", data={"reason": "补签到表"})
    assert r.status_code == 400
    token = csrf_from(detail)
    r = client.post(
        f"/admin/activities/{report_id}/return",
        data={"reason": "请补充签到表照片和讲解的案例", "csrf_token": token},
    )
    assert r.status_code == 302
    assert count(runtime, ActivityReport, ActivityReport.status == "returned") == 1
    assert count(runtime, AuditLog, AuditLog.action == "console:activity-return") == 1
    runtime.sender.drain()
    notice = wecom.fake.texts_for("liqiang")[-1]
    assert "需要补充" in notice and "请补充签到表照片和讲解的案例" in notice
    assert f"报送 补充 {report_id}" in notice
    # a second send-back of a returned report is refused in words
    r = client.post(
        f"/admin/activities/{report_id}/return",
        data={"reason": "再补", "csrf_token": token},
        follow_redirects=True,
    )
    assert "已经是退回状态" in r.get_data(as_text=True)
    # the filer resubmits from chat; bad forms get the usage line
    assert wecom.text("liqiang", "报送 补充").text.startswith("用法：报送 补充 编号")
    assert "没有找到" in wecom.text("zhaolei", f"报送 补充 {report_id} 补充").text
    done = wecom.text("liqiang", f"报送 补充 {report_id} 讲了两个有限空间事故案例").text
    assert done == f"已补充并重新提交编号 {report_id} 的报送，安全管理员会再次审阅。"
    with runtime.factory() as s:
        r = s.get(ActivityReport, report_id)
        assert r.status == "submitted" and r.version == 2
        assert "（补充）讲了两个有限空间事故案例" in r.description
        actions = list(
            s.scalars(
                select(ActivityReportEvent.action)
                .where(ActivityReportEvent.report_id == report_id)
                .order_by(ActivityReportEvent.id)
            )
        )
    assert actions == ["submitted", "returned", "resubmitted"]
    history = client.get(f"/admin/activities/{report_id}").get_data(as_text=True)
    assert "退回补充：请补充签到表照片" in history and "补充后重新报送" in history


def test_console_form_files_once_with_photos(runtime, app, clock):
    add_account(runtime.factory, "head3", role="department_head", departments=[3], now=clock())
    client = app.test_client()
    login(client, "head3")
    form_page = client.get("/admin/activities/new").get_data(as_text=True)
    assert "生产一车间" in form_page and "生产二车间" not in form_page
    token = csrf_from(form_page)
    nonce = form_page.split('name="nonce" value="')[1].split('"')[0]
    fields = {
        "csrf_token": token,
        "nonce": nonce,
        "department_id": "3",
        "kind": "case",
        "held_on": "2026-06-04",
        "place": "培训室",
        "description": "以某厂受限空间中毒事故为例讲解",
        "head_count": "30",
    }
    bad = client.post("/admin/activities/new", data={**fields, "held_on": "2026-06-30"})
    assert "活动日期不能晚于今天" in bad.get_data(as_text=True)
    bad = client.post("/admin/activities/new", data={**fields, "head_count": "0"})
    assert "大于 0 的整数" in bad.get_data(as_text=True)
    other = client.post("/admin/activities/new", data={**fields, "department_id": "4"})
    assert "请选择部门" in other.get_data(as_text=True)
    assert count(runtime, ActivityReport) == 0
    r = client.post(
        "/admin/activities/new",
        data={**fields, "photos": (BytesIO(PNG_1PX), "a.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    client.post("/admin/activities/new", data=fields)  # the same form posted again
    assert count(runtime, ActivityReport) == 1
    with runtime.factory() as s:
        photo = s.scalars(select(ActivityPhoto)).one()
        report = s.scalars(select(ActivityReport)).one()
    assert photo.status == "stored" and report.filed_by == "console:head3"
    got = client.get(f"/admin/activity-photos/{photo.id}")
    assert got.status_code == 200 and got.data == PNG_1PX
    assert count(runtime, AuditLog, AuditLog.action == "console:activity-file") == 1
    # a department head sees the list but cannot send back
    detail = client.get(f"/admin/activities/{report.id}").get_data(as_text=True)
    assert 'id="return-form"' not in detail
    r = client.post(
        f"/admin/activities/{report.id}/return",
        data={"reason": "x", "csrf_token": token},
    )
    assert r.status_code == 403


def test_photo_job_fetches_chat_photos(wecom, runtime, clock):
    file_in_chat(wecom, photos=("media-job",))
    with transaction(runtime.factory) as s:
        assert "stored 1" in fetch_pending(s, runtime, clock())
    with runtime.factory() as s:
        photo = s.scalars(select(ActivityPhoto)).one()
    assert photo.status == "stored" and photo.path.startswith("activities/")


@pytest.fixture
def filed(wecom, runtime, clock):
    file_in_chat(wecom, "liqiang", "c1")
    wecom.text("zhangwei", "报送")  # head of 安全环保部
    for answer in ("5", "昨天", "厂区门口", "“五进”宣传进社区", "12", "跳过"):
        wecom.text("zhangwei", answer)
    wecom.text("zhangwei", "确认", msg_id="c2")
    file_in_chat(wecom, "liqiang", "c3", photos=())
    return runtime


def test_summary_lists_activities_per_kind_and_department(filed, clock, tmp_path):
    runtime = filed
    with runtime.factory() as s:
        reports = s.scalar(select(func.count()).select_from(ActivityReport))
        people = s.scalar(select(func.sum(ActivityReport.head_count)))
    assert (reports, people) == (3, 62)
    with runtime.factory() as s:
        write_report(s, runtime.settings, clock(), tmp_path / "s.xlsx")
        write_report(s, runtime.settings, clock(), tmp_path / "s.html")
        write_report(s, runtime.settings, clock(), tmp_path / "s.docx")
    rows = [
        r[:3] for r in load_workbook(tmp_path / "s.xlsx")["部门活动"].iter_rows(values_only=True)
    ]
    assert rows[0] == ("编号", "日期", "部门")
    assert ("安全宣讲", 2, 50) in rows and ("“五进”宣传", 1, 12) in rows
    assert ("生产一车间", 2, 50) in rows and ("安全环保部", 1, 12) in rows
    html = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert f"各部门报送活动 {reports} 场，参加 {people} 人次" in html
    doc = Document(str(tmp_path / "s.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert f"各部门报送活动 {reports} 场，参加 {people} 人次" in text
    kinds = next(t for t in doc.tables if t.rows[0].cells[0].text == "活动类型")
    assert {r.cells[0].text: r.cells[1].text for r in kinds.rows[1:]} == {
        "安全宣讲": "2",
        "“五进”宣传": "1",
    }
    depts = next(
        t for t in doc.tables if [c.text for c in t.rows[0].cells] == ["部门", "场次", "参加人次"]
    )
    assert {r.cells[0].text: r.cells[2].text for r in depts.rows[1:]} == {
        "安全环保部": "12",
        "生产一车间": "50",
    }


def test_activity_pages_and_replies_have_no_english_words(filed, app, clock, wecom):
    from ascii_words import english_words, visible_text

    runtime = filed
    add_account(runtime.factory, "officer", role="safety_officer", now=clock())
    client = app.test_client()
    login(client, "officer")
    with runtime.factory() as s:
        report_id = s.scalar(select(ActivityReport.id))
    for url in ("/admin/activities", "/admin/activities/new", f"/admin/activities/{report_id}"):
        page = visible_text(client.get(url).get_data(as_text=True))
        assert english_words(page, extra={"officer"}) == [], url
    replies = [wecom.text("liqiang", t).text for t in ("报送", "1", "明天", "取消", "报送 记录")]
    assert english_words("\n".join(replies)) == []
