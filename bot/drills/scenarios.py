"""Drill scenarios: content/drills/<id>.yaml, validated at start-up.

A file with an unknown field, a duplicate id, a missing source, an inject `after` a step that
does not exist or an answer letter outside the options is refused with its file and line (the
YAML node marks from yaml.compose point at the offending key), as checklists are
(bot.inspection.templates).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import yaml
from yaml.nodes import Node, SequenceNode

from bot import yaml_nodes
from bot.content import content_dir

KINDS = ("fire", "electric_shock", "food_poisoning", "elevator", "flood", "earthquake")
TOP_FIELDS = {
    "id",
    "title",
    "kind",
    "summary",
    "sources",
    "roles",
    "steps",
    "injects",
    "key_times",
    "evaluation",
}
TOP_REQUIRED = ("title", "kind", "summary", "sources", "roles", "steps", "key_times", "evaluation")
ROLE_FIELDS = {"key", "name", "duty"}
# `free: true` lets a step take a text answer for the facilitator (options then optional).
STEP_FIELDS = {"id", "situation", "question", "options", "answer", "explanation", "source", "free"}
INJECT_FIELDS = {"id", "after", "text", "question", "options", "answer", "explanation", "source"}
KEY_TIME_FIELDS = {"key", "name"}
EVAL_FIELDS = {"id", "text", "scale", "free"}
LETTERS = string.ascii_uppercase


class ScenarioError(ValueError):
    """A scenario file that cannot be used: `str()` is "file:line: what is wrong"."""


# Node helpers shared with the other content loaders (bot/yaml_nodes.py), raising this error.
_value = yaml_nodes.value
_fail = partial(yaml_nodes.fail, ScenarioError)
_fields = partial(yaml_nodes.fields, ScenarioError)
_text = partial(yaml_nodes.text, ScenarioError, numbers=True)


@dataclass(frozen=True)
class Role:
    key: str
    name: str
    duty: str = ""


@dataclass(frozen=True)
class Question:
    """A step (situation → question) or an inject (text → question)."""

    id: str
    text: str  # the situation, or the inject's news
    question: str
    options: tuple[str, ...]
    answer: str  # letters, "" for a free-text step
    explanation: str
    source: str
    free: bool = False
    after: str = ""  # injects: the step they follow
    inject: bool = False

    @property
    def multiple(self) -> bool:
        return len(self.answer) > 1


@dataclass(frozen=True)
class EvalItem:
    id: str
    text: str
    free: bool = False


@dataclass(frozen=True)
class KeyTime:
    key: str
    name: str


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    kind: str
    summary: str
    sources: tuple[str, ...]
    roles: tuple[Role, ...]
    steps: tuple[Question, ...]
    injects: tuple[Question, ...]
    key_times: tuple[KeyTime, ...]
    evaluation: tuple[EvalItem, ...]
    path: str = ""
    by_id: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    def sequence(self) -> list[Question]:
        """Steps in order, each followed by the injects that come after it."""
        out: list[Question] = []
        for step in self.steps:
            out.append(step)
            out += [i for i in self.injects if i.after == step.id]
        return out

    def role(self, text: str) -> Role | None:
        return next((r for r in self.roles if text in (r.key, r.name)), None)

    def key_time(self, text: str) -> KeyTime | None:
        """What the facilitator typed after 演练: a key time's name or key, one of the words
        every scenario understands (开始, 疏散完成, 清点完成), or a part of one name."""
        text = text.strip()
        exact = next((k for k in self.key_times if text in (k.key, k.name)), None)
        if exact is not None or not text:
            return exact
        key = KEY_TIME_WORDS.get(text)
        if key is not None:
            return next((k for k in self.key_times if k.key == key), None)
        partial = [k for k in self.key_times if text in k.name]
        return partial[0] if len(partial) == 1 else None


# The words of the README and the 演练 help that every scenario understands, whatever its own
# names for the moments are (最后一人撤出大楼 is 疏散完成).
KEY_TIME_WORDS = {
    "开始": "start",
    "演练开始": "start",
    "疏散完成": "evacuated",
    "撤离完成": "evacuated",
    "清点完成": "counted",
    "清点": "counted",
}


def scenario_dir() -> Path:
    return content_dir() / "drills"


def _list(path: Path, f: dict, key: str, parent: Node, what: str) -> list[Node]:
    if key not in f:
        raise _fail(path, parent, f"{what} has no {key!r}")
    node = f[key][0]
    if not isinstance(node, SequenceNode) or not node.value:
        raise _fail(path, node, f"{key!r} must be a non-empty list")
    return list(node.value)


def _unique(path: Path, node: Node, value: str, seen: dict[str, int], what: str) -> None:
    if value in seen:
        raise _fail(path, node, f"{what} {value!r} already used at line {seen[value]}")
    seen[value] = node.start_mark.line + 1


def _question(path: Path, node: Node, allowed: set[str], what: str, inject: bool) -> Question:
    f = _fields(path, node, allowed, what)
    qid = _text(path, f, "id", node, what)
    what = f"{what} {qid}"
    free = False
    if "free" in f:
        if not isinstance(f["free"][1], bool):
            raise _fail(path, f["free"][0], "'free' must be true or false")
        free = f["free"][1]
    options: tuple[str, ...] = ()
    if "options" in f or not free:
        onode = f.get("options", (node, None))[0]
        raw = f.get("options", (node, None))[1]
        if not isinstance(raw, list) or len(raw) < 2 or len(raw) > len(LETTERS):
            raise _fail(path, onode, f"{what} needs a list of at least 2 options")
        if not all(isinstance(o, (str, int, float)) and str(o).strip() for o in raw):
            raise _fail(path, onode, f"options of {what} must be texts")
        options = tuple(str(o).strip() for o in raw)
    answer = ""
    if options:
        anode = f.get("answer", (node, None))[0]
        answer = _text(path, f, "answer", node, what).upper().replace(",", "").replace(" ", "")
        valid = LETTERS[: len(options)]
        bad = [c for c in answer if c not in valid]
        if bad or len(set(answer)) != len(answer):
            raise _fail(
                path, anode, f"answer {answer!r} of {what} is not among the options {valid}"
            )
        answer = "".join(sorted(answer))
    elif "answer" in f:
        raise _fail(path, f["answer"][0], f"{what} has an answer but no options")
    return Question(
        id=qid,
        text=_text(path, f, "text" if inject else "situation", node, what),
        question=_text(path, f, "question", node, what),
        options=options,
        answer=answer,
        explanation=_text(path, f, "explanation", node, what),
        source=_text(path, f, "source", node, what),
        free=free,
        after=_text(path, f, "after", node, what) if inject else "",
        inject=inject,
    )


def parse_scenario(path: Path) -> Scenario:
    with open(path, encoding="utf-8") as fh:
        try:
            root = yaml.compose(fh, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ScenarioError(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML") from exc
    if root is None:
        raise ScenarioError(f"{path}:1: empty file")
    top = _fields(path, root, TOP_FIELDS, "the scenario")
    for key in TOP_REQUIRED:
        if key not in top:
            raise _fail(path, root, f"the scenario has no {key!r}")
    if "id" in top and top["id"][1] != path.stem:
        raise _fail(path, top["id"][0], f"id {top['id'][1]!r} differs from the file name")
    kind = _text(path, top, "kind", root, "the scenario")
    if kind not in KINDS:
        raise _fail(path, top["kind"][0], f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    snode, sources = top["sources"]
    if (
        not isinstance(sources, list)
        or not sources
        or not all(isinstance(s, str) and s.strip() for s in sources)
    ):
        raise _fail(path, snode, "'sources' must be a list of document names")

    roles, seen = [], {}
    for node in _list(path, top, "roles", root, "the scenario"):
        f = _fields(path, node, ROLE_FIELDS, "a role")
        key = _text(path, f, "key", node, "a role")
        _unique(path, f["key"][0], key, seen, "role")
        what = f"role {key}"
        roles.append(
            Role(key, _text(path, f, "name", node, what), _text(path, f, "duty", node, what, False))
        )

    ids: dict[str, int] = {}
    steps = []
    for node in _list(path, top, "steps", root, "the scenario"):
        q = _question(path, node, STEP_FIELDS, "step", inject=False)
        _unique(path, node, q.id, ids, "id")
        steps.append(q)
    step_ids = {s.id for s in steps}
    injects = []
    if "injects" in top:
        inode = top["injects"][0]
        if not isinstance(inode, SequenceNode):
            raise _fail(path, inode, "'injects' must be a list")
        for node in inode.value:
            q = _question(path, node, INJECT_FIELDS, "inject", inject=True)
            _unique(path, node, q.id, ids, "id")
            if q.after not in step_ids:
                after_node = _fields(path, node, INJECT_FIELDS, "inject")["after"][0]
                raise _fail(
                    path, after_node, f"inject {q.id} comes after {q.after!r}: no such step"
                )
            injects.append(q)

    key_times, seen = [], {}
    for node in _list(path, top, "key_times", root, "the scenario"):
        f = _fields(path, node, KEY_TIME_FIELDS, "a key time")
        key = _text(path, f, "key", node, "a key time")
        _unique(path, f["key"][0], key, seen, "key time")
        key_times.append(KeyTime(key, _text(path, f, "name", node, f"key time {key}")))

    evaluation, seen = [], {}
    for node in _list(path, top, "evaluation", root, "the scenario"):
        f = _fields(path, node, EVAL_FIELDS, "an evaluation item")
        eid = _text(path, f, "id", node, "an evaluation item")
        _unique(path, f["id"][0], eid, seen, "evaluation item")
        free = bool(f.get("free", (None, False))[1])
        if not free and str(f.get("scale", (None, ""))[1]).strip() != "1-5":
            raise _fail(path, node, f"evaluation item {eid} needs 'scale: 1-5' or 'free: true'")
        evaluation.append(
            EvalItem(eid, _text(path, f, "text", node, f"evaluation item {eid}"), free)
        )

    by_id = {q.id: q for q in (*steps, *injects)}
    return Scenario(
        id=path.stem,
        title=_text(path, top, "title", root, "the scenario"),
        kind=kind,
        summary=_text(path, top, "summary", root, "the scenario"),
        sources=tuple(s.strip() for s in sources),
        roles=tuple(roles),
        steps=tuple(steps),
        injects=tuple(injects),
        key_times=tuple(key_times),
        evaluation=tuple(evaluation),
        path=str(path),
        by_id=by_id,
    )


def load_scenarios(folder: Path | None = None) -> dict[str, Scenario]:
    """Every scenario in `folder` (default content/drills); ScenarioError on the first problem."""
    folder = folder or scenario_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: parse_scenario(p) for p in sorted(folder.glob("*.yaml"))}


_cache: yaml_nodes.FolderCache[dict[str, Scenario]] = yaml_nodes.FolderCache(load_scenarios)


def scenarios() -> dict[str, Scenario]:
    """The current scenarios, re-read when a file changes."""
    return _cache.get(scenario_dir())


def get_scenario(ref: str) -> Scenario | None:
    """A scenario by id, by title, or by its number in the list (1, 2 …) as chat shows it."""
    found = scenarios()
    ref = (ref or "").strip()
    if ref in found:
        return found[ref]
    if ref.isdigit() and 1 <= int(ref) <= len(found):
        return list(found.values())[int(ref) - 1]
    return next((s for s in found.values() if s.title == ref), None)


def scenario_ids() -> str:
    """The valid choices for "unknown scenario" answers: numbers and titles (people read it)."""
    return "；".join(f"{n} {s.title}" for n, s in enumerate(scenarios().values(), 1)) or "-"
