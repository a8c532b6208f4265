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

from bot.context import Context
from bot.messages import IncomingMessage, Reply, text_message
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


# What may interrupt a conversation (python-telegram-bot's ConversationHandler fallbacks):
# "none": the flow gets every message; "bare": a command typed alone ("帮助", "答题") is routed
# as a command, "答题 xxx" is still the flow's text; "any": any command, with or without
# arguments, is routed as a command.
INTERRUPT_RULES = ("none", "bare", "any")


@dataclass(frozen=True)
class Flow:
    name: str
    handler: FlowHandler
    interrupt: str = "none"
    # per-step exceptions to `interrupt`, e.g. {"photos": "any"}
    steps: dict[str, str] = field(default_factory=dict)

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
    prefetchers: dict[str, Prefetcher] = field(default_factory=dict)
    # Texts that match no command but a pattern (e.g. a bare 6-digit check-in code); the
    # handler may return None to pass the text on to the next pattern or the fallback.
    patterns: list[tuple[re.Pattern[str], Handler]] = field(default_factory=list)
    fallback: Handler | None = None

    # -- registration --------------------------------------------------------------------
    def command(
        self, *keywords: str, priority: int = 50, admin: bool = False, exact: bool = False
    ) -> Callable[[CommandHandler], CommandHandler]:
        """Register a text command; the handler gets (message, ctx, arguments)."""

        def decorator(fn: CommandHandler) -> CommandHandler:
            self.commands.append(
                Command(tuple(normalize(k) for k in keywords), fn, priority, admin, exact)
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
        self, name: str, *, interrupt: str = "none", steps: dict[str, str] | None = None
    ) -> Callable[[FlowHandler], FlowHandler]:
        """Register a conversation's step handler and what may interrupt it (INTERRUPT_RULES).

        The router owns the rule: a command that may interrupt is routed before the flow sees
        the text, so flows never look commands up themselves."""
        for rule in (interrupt, *(steps or {}).values()):
            if rule not in INTERRUPT_RULES:
                raise ValueError(f"flow {name}: unknown interrupt rule {rule!r}")

        def decorator(fn: FlowHandler) -> FlowHandler:
            self.flows[name] = Flow(name, fn, interrupt, dict(steps or {}))
            return fn

        return decorator

    def prefetch(self, *msg_types: str) -> Callable[[Prefetcher], Prefetcher]:
        def decorator(fn: Prefetcher) -> Prefetcher:
            for t in msg_types:
                self.prefetchers[t] = fn
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
        for cmd in self.commands:
            for keyword in cmd.keywords:
                args = split_command(text, keyword)
                if args is None or (cmd.exact and args):
                    continue
                rank = (len(keyword), cmd.priority)
                if best is None or rank > best[:2]:
                    best = (rank[0], rank[1], cmd, args)
        return (best[2], best[3]) if best else None

    def dispatch(self, msg: IncomingMessage, ctx: Context) -> Reply | None:
        if msg.is_event:
            return self._dispatch_event(msg, ctx)

        prefix: list[str] = []
        conv = ctx.conversation
        if conv is not None:
            if conv.expires_at <= ctx.now:
                flow_name = conv.flow
                ctx.end_flow()
                prefix.append(ctx.t("conversation_expired", flow=_flow_label(ctx, flow_name)))
            elif conv.flow in self.flows and not self._interrupts(self.flows[conv.flow], msg, ctx):
                reply = self.flows[conv.flow].handler(msg, ctx)
                if reply is not None:
                    return reply

        reply = self._dispatch_message(msg, ctx)
        if prefix:
            reply = reply or Reply()
            reply.messages[:0] = [text_message(p) for p in prefix]
        return reply

    def _interrupts(self, flow: Flow, msg: IncomingMessage, ctx: Context) -> bool:
        """Whether this message is a command that may interrupt `flow` at its current step."""
        if msg.msg_type != "text":
            return False
        found = self.match_command(normalize(msg.content))
        return found is not None and flow.interrupted_by(ctx.conversation.step, found[1])

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
