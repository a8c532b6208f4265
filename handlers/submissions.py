"""安全征文 / 安全随手拍 in chat: 征文 <正文>, 随手拍 <说明> with photos, 我的投稿, 投票 (and the
vote card), 征集 (what is running) and, for officers, 征集 发起 ….

Photos join a 随手拍 entry when they come within PHOTO_WINDOW after it (a short conversation
takes them) or just before it: a photo sent alone starts a hazard report draft (handlers.hazard),
and 随手拍 typed right after takes that draft's photos over instead (the command interrupts any
conversation; the draft is recognised by its flow name and step, no import of the feature).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot import photos
from bot.context import PAUSED, Context
from bot.localtime import parse_chat_date
from bot.messages import IncomingMessage, Reply
from bot.models import Conversation
from bot.router import Router
from bot.submissions import contests, entries, voting
from bot.submissions.contests import day_label, kind_label
from bot.submissions.entries import Refused
from bot.text import normalize

FLOW = "submissions_photos"
PHOTO_WINDOW = timedelta(minutes=5)
DONE_WORDS = {"好了", "完成", "发完了", "没有了", "好", "结束"}
# A hazard report draft that a photo alone started (handlers.hazard: flow "hazard", step
# "describe", no description yet): 随手拍 right after takes its photos.
HAZARD_FLOW, HAZARD_DRAFT_STEP = "hazard", "describe"
KIND_WORDS = {
    "征文": "essay",
    "随手拍": "photo",
    "照片": "photo",
    "征文和随手拍": "both",
    "征文随手拍": "both",
    "两者": "both",
    "都": "both",
    "全部": "both",
}


def _tz(ctx: Context):
    return ctx.settings.tz


def _collapsed(text: str | None) -> str:
    return " ".join((text or "").split())


# -- 征文 -----------------------------------------------------------------------------------------
def handle_essay(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    text = (ctx.raw_args or args).strip()
    if not text:
        return Reply.text(
            ctx.t("submissions.essay_how", min=entries.ESSAY_MIN, max=entries.ESSAY_MAX)
        )
    result = entries.submit_essay(ctx.session, ctx.userid, text, ctx.now, _tz(ctx))
    if isinstance(result, Refused):
        return Reply.text(result.text())
    ctx.audit("submissions:essay", detail=f"投稿 {result.id}，活动 {result.contest_id}")
    contest = contests.get(ctx.session, result.contest_id)
    return Reply.text(
        ctx.t(
            "submissions.essay_received",
            theme=contest.theme,
            count=len(result.text),
            number=result.id,
        )
    )


# -- 随手拍 ---------------------------------------------------------------------------------------
def handle_photo_entry(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    caption = _collapsed(ctx.raw_args or args)
    if not caption:
        return Reply.text(ctx.t("submissions.photo_how", max=entries.MAX_PHOTOS))
    result = entries.submit_photo_entry(ctx.session, ctx.userid, caption, ctx.now, _tz(ctx))
    if isinstance(result, Refused):
        return Reply.text(result.text())
    count = 0
    for values in _draft_photos(ctx):
        count = entries.add_photo(ctx.session, result, values)
    ctx.audit("submissions:photo", detail=f"投稿 {result.id}，先发照片 {count} 张")
    # The window is kept in the data, not as the conversation's expiry: a photo after it is
    # simply not this entry's (no 「已超时」 notice).
    until = (ctx.now + PHOTO_WINDOW).isoformat()
    ctx.start_flow(FLOW, "photos", {"entry": result.id, "until": until})
    contest = contests.get(ctx.session, result.contest_id)
    key = "submissions.photo_received" if count else "submissions.photo_received_none"
    return Reply.text(
        ctx.t(
            key,
            theme=contest.theme,
            number=result.id,
            count=count,
            minutes=int(PHOTO_WINDOW.total_seconds() // 60),
        )
    )


def _draft_photos(ctx: Context) -> list[dict[str, Any]]:
    """The photos of a hazard draft a photo alone had just started (now paused by 随手拍),
    if they came within PHOTO_WINDOW; the draft is then dropped (they are this entry's)."""
    conv = ctx.conversation
    if conv is None or conv.flow != HAZARD_FLOW or conv.step != HAZARD_DRAFT_STEP:
        return []
    data = conv.data or {}
    if not ctx.paused or data.get("description"):
        return []
    items = []
    for item in data.get("photos") or []:
        values = dict(item)
        for key in ("received_at", "stored_at"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        items.append(values)
    if not items or any(ctx.now - v["received_at"] > PHOTO_WINDOW for v in items):
        return []
    ctx.end_flow()
    return items


def flow_photos(msg: IncomingMessage, ctx: Context) -> Reply | None:
    """Photos after 随手拍 join the entry; 好了 ends; any other text leaves the window."""
    conv = ctx.conversation
    entry = entries.get_entry(ctx.session, int((conv.data or {}).get("entry", 0)), ctx.userid)
    if entry is None or not _in_window(conv.data, ctx.now):
        ctx.end_flow()
        return None
    if msg.msg_type == "image":
        stored, error = ctx.prefetched or (None, "not downloaded yet")
        values = photos.photo_values(msg.media_id, stored, error, ctx.now)
        before = entries.photo_count(ctx.session, entry.id)
        count = entries.add_photo(ctx.session, entry, values)
        if count == before and count >= entries.MAX_PHOTOS:
            return Reply.text(ctx.t("submissions.photo_full", max=entries.MAX_PHOTOS))
        return Reply.text(ctx.t("submissions.photo_added", number=entry.id, count=count))
    if msg.msg_type != "text":
        return None
    ctx.end_flow()
    if normalize(msg.content) in DONE_WORDS:
        count = entries.photo_count(ctx.session, entry.id)
        return Reply.text(ctx.t("submissions.photo_done", number=entry.id, count=count))
    return None  # not about the photos: routed as usual


def _in_window(data: dict[str, Any] | None, now: datetime) -> bool:
    until = (data or {}).get("until")
    return bool(until) and now <= datetime.fromisoformat(until)


def prefetch_photo(msg: IncomingMessage, runtime) -> tuple[Any, str] | None:
    """Download a photo that joins a 随手拍 entry BEFORE the message's transaction."""
    if runtime is None or not msg.media_id:
        return None
    with runtime.factory() as s:
        conv = s.get(Conversation, msg.from_user)
        data = conv.data if conv is not None else None
        if conv is None or conv.flow != FLOW or (data or {}).get(PAUSED):
            return None
        if not _in_window(data, runtime.clock()):
            return None
    return photos.fetch_now(runtime, msg.media_id, entries.PHOTO_FOLDER)


# -- 我的投稿 -------------------------------------------------------------------------------------
def handle_mine(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    mine = entries.mine(ctx.session, ctx.userid)
    if not mine:
        return Reply.text(ctx.t("submissions.mine_none"))
    pics = entries.photos_of(ctx.session, [e.id for e, _ in mine])
    lines = [ctx.t("submissions.mine_title", count=len(mine))]
    for e, c in mine:
        status = ctx.t(f"submissions.status.{e.status}")
        if e.status == "rejected" and e.reason:
            status = ctx.t("submissions.status_reason", status=status, reason=e.reason)
        lines.append(
            ctx.t(
                "submissions.mine_line",
                number=e.id,
                theme=c.theme,
                kind=kind_label(e.kind),
                excerpt=entries.excerpt(e.text),
                photos=ctx.t("submissions.mine_photos", count=len(pics[e.id]))
                if e.kind == "photo"
                else "",
                status=status,
            )
        )
    return Reply.text("\n".join(lines))


# -- 投票 -----------------------------------------------------------------------------------------
def handle_vote(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    contest = voting.voting_contest(ctx.session, ctx.now, _tz(ctx))
    if contest is None:
        return Reply.text(ctx.t("submissions.no_voting"))
    raw = args.strip().lstrip("#第").rstrip("号")
    refusal = voting.phase_refusal(contest, ctx.now, _tz(ctx))
    if refusal is not None:
        return Reply.text(refusal)
    if not raw:
        shortlist = voting.ballot(ctx.session, contest)
        if not shortlist:
            return Reply.text(ctx.t("submissions.no_shortlist", theme=contest.theme))
        return Reply.text(
            ctx.t(
                "submissions.vote_intro",
                theme=contest.theme,
                count=len(shortlist),
                until=day_label(contest.vote_until),
                lines=voting.ballot_lines(ctx.session, shortlist),
            )
        )
    if not raw.isdigit() or len(raw) > 6:
        shortlist = voting.ballot(ctx.session, contest)
        return Reply.text(ctx.t("submissions.vote_hint", count=len(shortlist)))
    result = voting.cast(ctx.session, contest, ctx.userid, int(raw), "text", ctx.now, _tz(ctx))
    if result.ok:
        ctx.audit(
            "submissions:vote", detail=f"活动 {contest.id}，投给投稿 {result.entry.id}（回复）"
        )
    return Reply.text(result.text)


def handle_vote_card(msg: IncomingMessage, ctx: Context) -> Reply:
    raw = msg.event_key[len(voting.VOTE_KEY) :]
    contest = contests.get(ctx.session, int(raw)) if raw.isdigit() else None
    if contest is None:
        return Reply.text(ctx.t("submissions.no_voting"))
    picked = [o for options in msg.selected_items.values() for o in options]
    if len(picked) != 1 or not picked[0].isdigit():
        return Reply.text(ctx.t("submissions.card_pick_one"))
    number = int(picked[0])
    result = voting.cast(ctx.session, contest, ctx.userid, number, "card", ctx.now, _tz(ctx))
    reply = Reply.text(result.text)
    if result.ok:
        ctx.audit(
            "submissions:vote", detail=f"活动 {contest.id}，投给投稿 {result.entry.id}（卡片）"
        )
        reply.card_update = voting.vote_card(
            contest,
            voting.ballot(ctx.session, contest),
            task_id=msg.task_id or voting.task_id_for(contest),
            checked=number,
            replace_text=ctx.t("submissions.card_voted", number=number),
        )
    return reply


# -- 征集 -----------------------------------------------------------------------------------------
def handle_contests(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    first, _, rest = args.partition(" ")
    if first in ("发起", "开始", "新建"):
        if not ctx.is_admin:
            ctx.audit(
                "refused:submissions:open", detail=normalize(msg.content)[:500], allowed=False
            )
            return Reply.text(ctx.t("not_admin", command="征集 发起"))
        return _open(ctx, rest)
    tz = _tz(ctx)
    running = [
        *contests.current(ctx.session, ctx.now, tz, "submitting"),
        *contests.current(ctx.session, ctx.now, tz, "voting"),
    ]
    if not running:
        return Reply.text(ctx.t("submissions.none_running"))
    lines = [ctx.t("submissions.running_title")]
    for c in running:
        lines.append(
            ctx.t(
                f"submissions.running_{contests.phase(c, ctx.now, tz)}",
                theme=c.theme,
                kind=kind_label(c.kind),
                until=day_label(c.submit_until),
                vote_until=day_label(c.vote_until),
            )
        )
    lines += ["", ctx.t("submissions.running_how")]
    return Reply.text("\n".join(lines))


def _open(ctx: Context, text: str) -> Reply:
    """征集 发起 <主题> <征文|随手拍|都> <截止日期> [投票截止日期]"""
    words = text.split()
    days, kind, theme = [], None, []
    for w in words:
        day = parse_chat_date(w, ctx.today)
        if day is not None and len(days) < 2:
            days.append(day)
        elif w in KIND_WORDS and kind is None:
            kind = KIND_WORDS[w]
        else:
            theme.append(w)
    if not theme or kind is None or not days:
        return Reply.text(ctx.t("submissions.open_how"))
    try:
        contest, staff = contests.open_contest(
            ctx.session,
            theme=" ".join(theme),
            kind=kind,
            submit_until=days[0],
            vote_until=days[1] if len(days) > 1 else None,
            created_by=ctx.userid,
            now=ctx.now,
            tz=_tz(ctx),
        )
    except contests.ContestError as exc:
        return Reply.text(str(exc))
    ctx.audit("submissions:open", detail=f"活动 {contest.id}：{contest.theme}")
    return Reply.text(
        ctx.t(
            "submissions.opened",
            theme=contest.theme,
            kind=kind_label(contest.kind),
            until=day_label(contest.submit_until),
            vote_until=day_label(contest.vote_until),
            staff=staff,
        )
    )


def register(router: Router) -> None:
    router.command("征文", "安全征文")(handle_essay)
    # interrupts: typed right after a photo (which opened a hazard draft), it takes the photo.
    router.command("随手拍", "安全随手拍", interrupts=True)(handle_photo_entry)
    router.command("我的投稿", "我的征文", exact=True)(handle_mine)
    router.command("投票")(handle_vote)
    router.command("征集", "征集活动")(handle_contests)
    router.flow(FLOW, interrupt="any", pause=False)(flow_photos)
    router.card(voting.VOTE_KEY)(handle_vote_card)
    router.prefetch("image")(prefetch_photo)
