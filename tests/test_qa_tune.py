"""Retrieval quality over content/knowledge. Accuracy, not timing (bench/qa.py times it).

- the tuning set (tests/data/qa_tune.yaml, written by the engine's author from the theme titles):
  top-1 at least 85%, every off-topic question refused, at most 5% answered wrongly;
- the held-out set (tests/data/qa_eval.yaml, written by someone who wrote neither the entries
  nor the thresholds; never tuned on): the issue's goal, top-1 ≥ 85%, top-3 ≥ 95%, off-topic
  refused ≥ 90%;
- every entry's own question and alternatives are answered with that entry."""

from __future__ import annotations

from pathlib import Path

from bench.qa import TUNE, load_file, run_bot
from bot.knowledge.answers import ANSWERED, decide
from bot.knowledge.index import get_index

EVAL = Path(__file__).resolve().parent / "data" / "qa_eval.yaml"


def test_tuning_set_top1_and_refusals():
    questions, off_topic = load_file(TUNE)
    result = run_bot(questions, off_topic)
    assert result.top1 / result.questions >= 0.85, "\n".join(result.misses)
    assert result.refused == result.off_topic, "\n".join(result.misses)
    assert result.answered_wrong / result.questions <= 0.05, "\n".join(result.misses)


def test_held_out_set_meets_the_goal():
    questions, off_topic = load_file(EVAL)
    assert len(questions) >= 100 and len(off_topic) >= 30
    result = run_bot(questions, off_topic)
    assert result.top1 / result.questions >= 0.85, "\n".join(result.misses)
    assert result.top3 / result.questions >= 0.95, "\n".join(result.misses)
    assert result.refused / result.off_topic >= 0.90, "\n".join(result.misses)


def test_every_entry_answers_its_own_phrasings():
    index = get_index()
    wrong = []
    for doc in index.docs:
        if doc.kind != "entry":
            continue
        for text in doc.phrasings:
            decision = decide(text, index)
            if decision.outcome != ANSWERED or decision.best.doc.id != doc.id:
                got = decision.best.doc.id if decision.best else "-"
                wrong.append(f"{text} -> {decision.outcome} {got} (want {doc.id})")
    assert not wrong, "\n".join(wrong)
