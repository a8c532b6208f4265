"""How well the bot answers staff's questions: top-1 / top-3 accuracy, off-topic refusal rate
and answer latency (p50 / p95), next to a naive baseline (character overlap, no segmentation,
no synonyms) in the same run.

    python -m bench.qa [--file tests/data/qa_eval.yaml] [--knowledge DIR] [--misses]

The file: `questions: [{q: 灭火器咋用, expect: fire-extinguisher-use}, ...]` (expect may be a
list of acceptable ids) and `off_topic: [今天食堂吃什么, ...]`. Default: tests/data/qa_eval.yaml
if present, else the tuning set tests/data/qa_tune.yaml.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "qa_eval.yaml"
TUNE = ROOT / "tests" / "data" / "qa_tune.yaml"


@dataclass
class Result:
    name: str
    top1: int = 0
    top3: int = 0
    answered_right: int = 0  # confident and right
    answered_wrong: int = 0  # confident and wrong: a wrong answer shown to staff
    refused: int = 0
    questions: int = 0
    off_topic: int = 0
    latencies: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def line(self) -> str:
        q, o = max(self.questions, 1), max(self.off_topic, 1)
        lat = sorted(self.latencies) or [0.0]
        p50 = statistics.median(lat) * 1000
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))] * 1000
        return (
            f"{self.name:<10} top1 {self.top1 / q:6.1%}  top3 {self.top3 / q:6.1%}  "
            f"answered-right {self.answered_right / q:6.1%}  answered-wrong "
            f"{self.answered_wrong / q:6.1%}  off-topic refused {self.refused / o:6.1%}  "
            f"p50 {p50:6.2f} ms  p95 {p95:6.2f} ms"
        )


def load_file(path: Path) -> tuple[list[tuple[str, set[str]]], list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    questions = []
    for item in data.get("questions") or []:
        expect = item["expect"]
        questions.append((str(item["q"]), set(expect if isinstance(expect, list) else [expect])))
    return questions, [str(t) for t in data.get("off_topic") or []]


def run_bot(questions, off_topic) -> Result:
    from bot.knowledge.answers import ANSWERED, OFF_TOPIC, decide
    from bot.knowledge.index import get_index

    index = get_index()
    result = Result("bot")
    for q, expect in questions:
        start = time.perf_counter()
        decision = decide(q, index)
        result.latencies.append(time.perf_counter() - start)
        ranked = [h.doc.id for h in index.search(q, limit=3)]
        result.questions += 1
        result.top1 += bool(ranked[:1] and ranked[0] in expect)
        result.top3 += bool(expect & set(ranked[:3]))
        if decision.outcome == ANSWERED:
            right = decision.best.doc.id in expect
            result.answered_right += right
            result.answered_wrong += not right
        if not (ranked[:1] and ranked[0] in expect) or decision.outcome != ANSWERED:
            best = decision.best
            result.misses.append(
                f"  {q} -> {decision.outcome} {best.doc.id if best else '-'} "
                f"{best.confidence if best else 0:.2f} (want {'/'.join(sorted(expect))})"
            )
    for text in off_topic:
        start = time.perf_counter()
        decision = decide(text, index)
        result.latencies.append(time.perf_counter() - start)
        result.off_topic += 1
        result.refused += decision.outcome == OFF_TOPIC
        if decision.outcome != OFF_TOPIC:
            result.misses.append(f"  off-topic {text} -> {decision.outcome}")
    return result


def run_baseline(questions, off_topic) -> Result:
    """Character overlap (Jaccard over characters) between the question and each entry's
    phrasings; answers when the best overlap reaches 0.5."""
    from bot.knowledge.index import get_index

    docs = [d for d in get_index().docs if d.kind == "entry"]
    sets = [[set(p) for p in d.phrasings] for d in docs]

    def rank(q: str) -> list[tuple[float, str]]:
        chars = set(q) - set("？?，,。！!的了吗呢怎么")
        scored = []
        for d, phrasings in zip(docs, sets, strict=True):
            best = max((len(chars & p) / max(len(chars | p), 1) for p in phrasings), default=0)
            scored.append((best, d.id))
        scored.sort(reverse=True)
        return scored

    result = Result("baseline")
    for q, expect in questions:
        start = time.perf_counter()
        ranked = rank(q)
        result.latencies.append(time.perf_counter() - start)
        ids = [i for _, i in ranked[:3]]
        result.questions += 1
        result.top1 += ids[0] in expect
        result.top3 += bool(expect & set(ids))
        if ranked[0][0] >= 0.5:
            result.answered_right += ids[0] in expect
            result.answered_wrong += ids[0] not in expect
    for text in off_topic:
        start = time.perf_counter()
        ranked = rank(text)
        result.latencies.append(time.perf_counter() - start)
        result.off_topic += 1
        result.refused += ranked[0][0] < 0.5
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, help="evaluation file (default: qa_eval or qa_tune)")
    parser.add_argument("--knowledge", help="knowledge folder (default: content/knowledge)")
    parser.add_argument("--misses", action="store_true", help="list the questions missed")
    args = parser.parse_args(argv)
    path = args.file or (EVAL if EVAL.is_file() else TUNE)
    if not path.is_file():
        print(f"bench.qa: no such file: {path}", file=sys.stderr)
        return 2
    if args.knowledge:
        os.environ["SAFETYBOT_KNOWLEDGE_DIR"] = args.knowledge
    questions, off_topic = load_file(path)
    from bot.knowledge.index import get_index

    start = time.perf_counter()
    index = get_index()
    built = time.perf_counter() - start
    print(
        f"{path.name}: {len(questions)} questions, {len(off_topic)} off-topic; "
        f"{len(index.kb.entries)} entries + {len(index.kb.secondary)} quiz/tip documents, "
        f"index built in {built:.2f} s"
    )
    bot = run_bot(questions, off_topic)
    print(bot.line())
    print(run_baseline(questions, off_topic).line())
    if args.misses:
        print("\n".join(bot.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
