"""The router: which handler answers a message.

Like python-telegram-bot's Application, every route answers "do I match?" and the first
match in priority order wins; multi-step flows (conversations) are states kept in the database
and get the user's next message first. Registration decorators hand the function back
unchanged (as Slack Bolt's do), so handlers stay plain, testable functions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.context import STASH, Context
from bot.messages import IncomingMessage, Reply, text_message
from bot.models import Conversation
from bot.text import normalize, split_command

log = logging.getLogger(__name__)

Handler = Callable[[IncomingMessage, Context], Reply | None]
CommandHandler = Callable[[IncomingMessage, Context, str], Reply | None]
FlowHandler = Callable[[IncomingMessage, Context], Reply | None]
# (message, runtime) -> anything; it may read the database but must not write.
Prefetcher = Callable[[IncomingMessage, Any], Any]


@dataclass
class Command:
    keywords: tuple[str, ...]
    handler: CommandHandler
    priority: int = 50
    admin: bool = False
    exact: bool = False  # only the keyword alone, no arguments
    # Answered in any conversation, whatever its rule (帮助), without pausing it.
    always: bool = False
    # Takes only arguments this accepts (回复 WT-… and 回复 JY-… are two features' commands).
    accepts: Callable[[str], bool] | None = None
    # Routed as a command inside any conversation, with or without arguments (the flow is
    # paused as usual): 随手拍 takes over the photos of a report a photo had just started.
    interrupts: bool = False


# What may interrupt a conversation (python-telegram-bot's ConversationHandler fallbacks):
# "none": the flow gets every message; "bare": a command typed alone ("帮助", "答题") is routed
# as a command, "答题 xxx" is still the flow's text; "any": any command, with or without
# arguments, is routed as a command.
INTERRUPT_RULES = ("none", "bare", "any")
# Words that bring a paused conversation back, or drop it.
RESUME_WORDS = frozenset({"继续", "接着填", "继续填", "继续填写"})
CANCEL_PAUSED = frozenset({"取消", "放弃", "算了"})


@dataclass(frozen=True)
class Flow:
    name: str
    handler: FlowHandler
    interrupt: str = "none"
    # per-step exceptions to `interrupt`, e.g. {"photos": "any"}
    steps: dict[str, str] = field(default_factory=dict)
    # Whether a command that interrupts it pauses it (kept for 「继续」); by default every flow
    # but those any command may leave (a pending quiz question stays open instead).
    pause: bool | None = None
    # What to say when 「继续」 brings it back: (ctx) -> the current step's question.
    resume: Callable[[Context], str] | None = None

    @property
    def pausable(self) -> bool:
        return self.interrupt != "any" if self.pause is None else self.pause

    def interrupted_by(self, step: str, args: str) -> bool:
        rule = self.steps.get(step, self.interrupt)
        return rule == "any" or (rule == "bare" and args == "")


@dataclass
class Router:
    commands: list[Command] = field(default_factory=list)
    events: dict[str, Handler] = field(default_factory=dict)
    clicks: dict[str, Handler] = field(default_factory=dict)
    # template_card_event handlers by EventKey / TaskId prefix
    cards: list[tuple[str, Handler]] = field(default_factory=list)
    media: dict[str, Handler] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    # Slow I/O a message needs (e.g. downloading a photo), run BEFORE the message's
    # transaction so no database lock is held during it; results reach ctx.prefetched.
    # Several features may register one for a type: the first that returns something wins
    # (each answers only for its own conversations).
    prefetchers: dict[str, list[Prefetcher]] = field(default_factory=dict)
    # Texts that match no command but a pattern (e.g. a bare 6-digit check-in code); the
    # handler may return None to pass the text on to the next pattern or the fallback.
    patterns: list[tuple[re.Pattern[str], Handler]] = field(default_factory=list)
    fallback: Handler | None = None
    # The keywords by their first (lower-case) character, in registration order: a text is
    # compared only with the keywords it could start with, not all ~90 (see match_command).
    _by_first: tuple[int, dict[str, list[tuple[int, Command, str]]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    # -- registration --------------------------------------------------------------------
    def command(
        self,
        *keywords: str,
        priority: int = 50,
        admin: bool = False,
        exact: bool = False,
        always: bool = False,
        accepts: Callable[[str], bool] | None = None,
        interrupts: bool = False,
    ) -> Callable[[CommandHandler], CommandHandler]:
        """Register a text command; the handler gets (message, ctx, arguments). An `always`
        command (帮助) answers inside every conversation and leaves it as it was; with
        `accepts`, the command matches only arguments it accepts (else another command with
        the same keyword may)."""

        def decorator(fn: CommandHandler) -> CommandHandler:
            self.commands.append(
                Command(
                    tuple(normalize(k) for k in keywords),
                    fn,
                    priority,
                    admin,
                    exact,
                    always,
                    accepts,
                    interrupts,
                )
            )
            return fn

        return decorator

    def event(self, *names: str) -> Callable[[Handler], Handler]:
        def decorator(fn: Handler) -> Handler:
            for name in names:
                self.events[name.lower()] = fn
            return fn

        return decorator

    def click(self, *keys: str) -> Callable[[Handler], Handler]:
        def decorator(fn: Handler) -> Handler:
            for key in keys:
                self.clicks[key] = fn
            return fn

        return decorator

    def card(self, prefix: str) -> Callable[[Handler], Handler]:
        def decorator(fn: Handler) -> Handler:
            self.cards.append((prefix, fn))
            self.cards.sort(key=lambda item: -len(item[0]))
            return fn

        return decorator

    def message(self, *msg_types: str) -> Callable[[Handler], Handler]:
        """Non-text messages (image, location, voice …) outside a conversation."""

        def decorator(fn: Handler) -> Handler:
            for t in msg_types:
                self.media[t] = fn
            return fn

        return decorator

    def flow(
        self,
        name: str,
        *,
        interrupt: str = "none",
        steps: dict[str, str] | None = None,
        pause: bool | None = None,
        resume: Callable[[Context], str] | None = None,
    ) -> Callable[[FlowHandler], FlowHandler]:
        """Register a conversation's step handler and what may interrupt it (INTERRUPT_RULES).

        The router owns the rule: a command that may interrupt is routed before the flow sees
        the text, so flows never look commands up themselves."""
        for rule in (interrupt, *(steps or {}).values()):
            if rule not in INTERRUPT_RULES:
                raise ValueError(f"flow {name}: unknown interrupt rule {rule!r}")

        def decorator(fn: FlowHandler) -> FlowHandler:
            self.flows[name] = Flow(name, fn, interrupt, dict(steps or {}), pause, resume)
            return fn

        return decorator

    def prefetch(self, *msg_types: str) -> Callable[[Prefetcher], Prefetcher]:
        def decorator(fn: Prefetcher) -> Prefetcher:
            for t in msg_types:
                self.prefetchers.setdefault(t, []).append(fn)
            return fn

        return decorator

    def pattern(self, regex: str) -> Callable[[Handler], Handler]:
        """Register a handler for normalised texts that fully match `regex`."""

        def decorator(fn: Handler) -> Handler:
            self.patterns.append((re.compile(regex), fn))
            return fn

        return decorator

    def set_fallback(self, fn: Handler) -> Handler:
        self.fallback = fn
        return fn

    # -- dispatch ---------------------------------------------------------------------------
    def match_command(self, text: str) -> tuple[Command, str] | None:
        """The command whose keyword is the longest prefix of `text` (ties: priority)."""
        best: tuple[int, int, Command, str] | None = None
        for _, cmd, keyword in self._candidates(text):
            args = split_command(text, keyword)
            if args is None or (cmd.exact and args):
                continue
            if cmd.accepts is not None and not cmd.accepts(args):
                continue
            rank = (len(keyword), cmd.priority)
            if best is None or rank > best[:2]:
                best = (rank[0], rank[1], cmd, args)
        return (best[2], best[3]) if best else None

    def _candidates(self, text: str) -> list[tuple[int, Command, str]]:
        """The keywords `text` may start with (split_command compares lower-cased: a match
        shares the first lower-case character), in registration order, as the full scan
        would visit them (the first of equal rank wins)."""
        if self._by_first is None or self._by_first[0] != len(self.commands):
            index: dict[str, list[tuple[int, Command, str]]] = {}
            order = 0
            for cmd in self.commands:
                for keyword in cmd.keywords:
                    index.setdefault(keyword.lower()[:1], []).append((order, cmd, keyword))
                    order += 1
            self._by_first = (len(self.commands), index)
        index = self._by_first[1]
        found = index.get(text.lower()[:1], [])
        empty = index.get("", [])  # an empty keyword matches every text
        return sorted(found + empty) if empty else found

    def dispatch(self, msg: IncomingMessage, ctx: Context) -> Reply | None:
        """Conversations first, by the interrupt rules: a command that may interrupt a flow
        pauses it (kept for 「继续」), an `always` command answers and leaves it running, a
        flow that timed out is paused with what was typed after it offered to it. Whenever a
        message leaves a conversation paused that was not, the answer says so.

        The conversation's changes are written at the end, in the message's transaction."""
        reply = self._dispatch(msg, ctx)
        ctx.save_conversation()
        return reply

    def _dispatch(self, msg: IncomingMessage, ctx: Context) -> Reply | None:
        if msg.is_event:
            return self._dispatch_event(msg, ctx)
        conv = ctx.conversation
        before = (conv.flow, ctx.paused) if conv is not None else None
        notes = _Notes()
        reply = self._route(msg, ctx, notes)
        after = ctx.conversation
        paused = notes.paused_flow
        if paused is not None and after is not None and after.flow == paused and not ctx.paused:
            paused = None  # the command started the same flow afresh: nothing is paused
        if paused is not None and not _kept(after, paused):
            paused = None  # the command took the paused draft over (随手拍 after a photo)
        if paused is None and after is not None and ctx.paused and (after.flow, True) != before:
            paused = after.flow  # e.g. a quiz ended and the report it interrupted is back
        if paused is not None and not notes.offered:
            notes.paused.append(ctx.t("conversation_paused", flow=_flow_label(ctx, paused)))
        if notes.paused or notes.ongoing:
            # In the same text as the command's answer: one message, still a passive reply.
            reply = _joined(reply, notes.paused, notes.ongoing)
        if notes.expired:
            reply = reply or Reply()
            reply.messages[:0] = [text_message(p) for p in notes.expired]
        return reply

    def _route(self, msg: IncomingMessage, ctx: Context, notes: _Notes) -> Reply | None:
        conv = ctx.conversation
        if conv is not None:
            flow = self.flows.get(conv.flow)
            label = _flow_label(ctx, conv.flow)
            if flow is None:
                ctx.end_flow()  # content changed under a live conversation
            elif conv.expires_at <= ctx.now and ctx.paused:
                ctx.end_flow()  # a paused draft nobody came back to
                notes.expired.append(ctx.t("conversation_expired", flow=label))
            elif conv.expires_at <= ctx.now:
                reply = self._timed_out(msg, ctx, flow, label)
                if reply is not None:
                    notes.offered = True
                    return reply
                if flow.pausable:
                    notes.offered = True  # the expiry notice already says 「继续」
                    notes.expired.append(ctx.t("conversation_expired_paused", flow=label))
                else:
                    notes.expired.append(ctx.t("conversation_expired", flow=label))
            elif ctx.paused:
                reply = self._paused(msg, ctx, flow, label)
                if reply is not None:
                    return reply
            else:
                found = self._command(msg)
                if found is None or not (
                    found[0].always
                    or found[0].interrupts
                    or flow.interrupted_by(conv.step, found[1])
                ):
                    reply = flow.handler(msg, ctx)
                    if reply is not None:
                        return reply
                elif found[0].always:
                    notes.ongoing.append(ctx.t("conversation_ongoing", flow=label))
                elif flow.pausable:
                    ctx.pause_flow()
                    notes.paused_flow = conv.flow
        return self._dispatch_message(msg, ctx)

    def _command(self, msg: IncomingMessage) -> tuple[Command, str] | None:
        return self.match_command(normalize(msg.content)) if msg.msg_type == "text" else None

    def _timed_out(
        self, msg: IncomingMessage, ctx: Context, flow: Flow, label: str
    ) -> Reply | None:
        """The flow timed out: keep its draft paused. Text that is no command is not thrown
        away: it is offered to the flow (「继续」 files it)."""
        text = normalize(msg.content) if msg.msg_type == "text" else ""
        if not flow.pausable or not text or self._is_routed(text):
            if flow.pausable:
                ctx.pause_flow()
            else:
                ctx.end_flow()
            return None
        ctx.pause_flow(pending=msg.content.strip())
        shown = text if len(text) <= 30 else text[:30] + "…"
        return Reply.text(ctx.t("conversation_offer", flow=label, text=shown))

    def _paused(self, msg: IncomingMessage, ctx: Context, flow: Flow, label: str) -> Reply | None:
        """A paused conversation: 「继续」 resumes it, 「取消」 drops it; anything else is a
        fresh message."""
        text = normalize(msg.content) if msg.msg_type == "text" else ""
        if text in CANCEL_PAUSED:
            ctx.end_flow()
            return Reply.text(ctx.t("conversation_dropped", flow=label))
        if text not in RESUME_WORDS:
            return None
        pending = ctx.resume_flow()
        if pending:
            typed = IncomingMessage(
                msg_type="text",
                from_user=msg.from_user,
                create_time=msg.create_time,
                content=pending,
            )
            reply = flow.handler(typed, ctx)
            if reply is not None:
                return reply
        step = flow.resume(ctx) if flow.resume and ctx.conversation else ""
        return Reply.text(
            "\n".join(filter(None, [ctx.t("conversation_resumed", flow=label), step]))
        )

    def _is_routed(self, text: str) -> bool:
        """Whether a text is a command or matches a pattern (so it is not a flow's answer)."""
        return self.match_command(text) is not None or any(
            regex.fullmatch(text) for regex, _ in self.patterns
        )

    def _dispatch_message(self, msg: IncomingMessage, ctx: Context) -> Reply | None:
        if msg.msg_type == "text":
            text = normalize(msg.content)
            found = self.match_command(text)
            if found:
                cmd, args = found
                if cmd.admin and not ctx.is_admin:
                    ctx.audit("refused:" + cmd.keywords[0], detail=text[:500], allowed=False)
                    return Reply.text(ctx.t("not_admin", command=cmd.keywords[0]))
                ctx.raw_args = as_typed_args(msg.content, args)
                return cmd.handler(msg, ctx, args)
            for regex, handler in self.patterns:
                if regex.fullmatch(text):
                    reply = handler(msg, ctx)
                    if reply is not None:
                        return reply
        elif msg.msg_type in self.media:
            return self.media[msg.msg_type](msg, ctx)
        return self.fallback(msg, ctx) if self.fallback else None

    def _dispatch_event(self, msg: IncomingMessage, ctx: Context) -> Reply | None:
        if msg.event == "click" and msg.event_key in self.clicks:
            return self.clicks[msg.event_key](msg, ctx)
        if msg.event == "template_card_event":
            for prefix, handler in self.cards:
                if msg.event_key.startswith(prefix) or msg.task_id.startswith(prefix):
                    return handler(msg, ctx)
        handler = self.events.get(msg.event)
        if handler is not None:
            return handler(msg, ctx)
        if msg.event == "click":
            # A menu item with a text key ("答题") behaves as if the user typed it.
            fake = IncomingMessage(
                msg_type="text",
                from_user=msg.from_user,
                create_time=msg.create_time,
                content=msg.event_key,
            )
            return self._dispatch_message(fake, ctx)
        return None


@dataclass
class _Notes:
    """What dispatch adds around a reply about the conversation."""

    expired: list[str] = field(default_factory=list)  # texts of their own, before the reply
    paused: list[str] = field(default_factory=list)  # at the start of the reply's text
    ongoing: list[str] = field(default_factory=list)  # at the end of the reply's text
    offered: bool = False  # the reply itself already tells how to resume
    paused_flow: str | None = None  # the flow this message's command paused


def _kept(conv: Conversation | None, flow: str) -> bool:
    """Whether `flow` is still the conversation, or the one stashed under it."""
    if conv is None:
        return False
    stashed = (conv.data or {}).get(STASH) or {}
    return conv.flow == flow or stashed.get("flow") == flow


def _joined(reply: Reply | None, before: list[str], after: list[str]) -> Reply:
    """`before` and `after` added to the reply's first / last text (else as texts of their own)."""
    reply = reply or Reply()
    msgs = reply.messages
    texts_at = [i for i, m in enumerate(msgs) if m.get("msgtype") == "text"]
    if before:
        if texts_at:
            body = msgs[texts_at[0]]["text"]
            body["content"] = "\n".join([*before, body["content"]])
        else:
            msgs[:0] = [text_message(t) for t in before]
            texts_at = [0]
    if after:
        if texts_at:
            body = msgs[texts_at[-1]]["text"]
            body["content"] = "\n".join([body["content"], "", *after])
        else:
            msgs += [text_message(t) for t in after]
    return reply


def as_typed_args(content: str | None, args: str) -> str:
    """A command's arguments as the person typed them: the router matches on NFKC-normalised
    text, which would turn Chinese punctuation (，。：) into ASCII and drop line breaks, so
    descriptions and broadcast texts take the arguments from the original text instead."""
    raw = (content or "").strip()
    if not args:
        return ""
    # The arguments are the tail of the text; find where they start in the original.
    for start in range(len(raw)):
        rest = raw[start:].lstrip(" :：,，\u3000\t")
        if rest and normalize(rest) == args:
            return rest
    return args


def _flow_label(ctx: Context, flow: str) -> str:
    """A flow's name for people: `flows.<flow>`, else `<flow>.flow_label`, else for
    `<feature>_<step>` flows `<feature>.<step>_flow_label` (features keep their own texts)."""
    prefix, _, rest = flow.partition("_")
    keys = [f"flows.{flow}", f"{flow}.flow_label"]
    if rest:
        keys.append(f"{prefix}.{rest}_flow_label")
    for key in keys:
        try:
            return ctx.t(key)
        except KeyError:
            continue
    return flow
