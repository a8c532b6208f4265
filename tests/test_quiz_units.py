"""Quiz pieces without the bot: the answer parser, shuffling, rules, the bank validator."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.quiz.answers import (
    format_question,
    parse_answer,
    permutation_for,
    to_shown,
    to_stored,
)
from bot.quiz.bank import clean_question


@pytest.mark.parametrize(
    "text,expected",
    [
        ("A", "A"),
        ("a", "A"),
        ("Ａ", "A"),
        (" b ", "B"),
        ("d", "D"),
    ],
)
def test_single_choice_forms(text, expected):
    assert parse_answer(text, "single", 4) == expected


@pytest.mark.parametrize("text", ["AC", "A C", "a,c", "A、C", "ａｃ", "C A", "a，c", "CA", "A;C"])
def test_multiple_choice_forms(text):
    assert parse_answer(text, "multiple", 4) == "AC"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("对", "T"),
        ("错", "F"),
        ("√", "T"),
        ("×", "F"),
        ("正确", "T"),
        ("错误", "F"),
        ("T", "T"),
        ("F", "F"),
        ("t", "T"),
        ("f", "F"),
        ("Ｔ", "T"),
        ("true", "T"),
        ("false", "F"),
    ],
)
def test_judge_forms(text, expected):
    assert parse_answer(text, "judge") == expected


@pytest.mark.parametrize(
    "text,qtype",
    [
        ("", "single"),
        ("好的", "single"),
        ("E", "single"),
        ("AC", "single"),
        ("A1", "single"),
        ("帮助", "multiple"),
        ("AZ", "multiple"),
        ("ABCDE", "multiple"),
        ("A C 3", "multiple"),
        ("A", "judge"),
        ("对不起", "judge"),
        ("也许", "judge"),
        ("打卡", "judge"),
    ],
)
def test_junk_is_not_an_answer(text, qtype):
    assert parse_answer(text, qtype, 4) is None


def test_letters_limited_to_the_options_shown():
    assert parse_answer("E", "single", 5) == "E"
    assert parse_answer("E", "single", 4) is None


def test_shuffle_maps_letters_back():
    for seed in ("u1:2026-06-05:fire-001", "u2:2026-06-05:fire-001", "x"):
        perm = permutation_for(seed, 4, "single")
        assert sorted(perm) == [0, 1, 2, 3]
        for stored in "ABCD":
            shown = to_shown(stored, perm, "single")
            assert to_stored(shown, perm, "single") == stored
        # The option a person sees at shown letter L is the stored option perm[L].
        options = ["o0", "o1", "o2", "o3"]
        shown_b = to_shown("B", perm, "single")
        assert options[perm["ABCD".index(shown_b)]] == "o1"
    perm = permutation_for("y", 5, "multiple")
    assert to_stored(to_shown("ACE", perm, "multiple"), perm, "multiple") == "ACE"


def test_shuffle_stable_per_seed_and_differs_between_people():
    assert permutation_for("zhaolei:2026-06-05:q", 4, "single") == permutation_for(
        "zhaolei:2026-06-05:q", 4, "single"
    )
    a = [permutation_for(f"zhaolei:2026-06-05:q{i}", 4, "single") for i in range(10)]
    b = [permutation_for(f"liuyang:2026-06-05:q{i}", 4, "single") for i in range(10)]
    assert a != b
    assert permutation_for("anyone", 0, "judge") == []


def test_question_text_format():
    q = SimpleNamespace(type="single", stem="火警电话是？", options=["110", "119", "120", "122"])
    text = format_question(1, q, [0, 1, 2, 3])
    assert text.startswith("第1题（单选）火警电话是？\nA. 110\nB. 119")
    assert text.endswith("回复字母作答，如 A")
    q = SimpleNamespace(type="multiple", stem="s", options=["a", "b", "c"])
    assert format_question(2, q, [2, 0, 1]).splitlines()[1:] == [
        "A. c",
        "B. a",
        "C. b",
        "回复字母作答，如 AC",
    ]
    q = SimpleNamespace(type="judge", stem="s", options=[])
    assert format_question(3, q, []) == "第3题（判断）s\n回复 对 或 错"


def _q(**kw):
    base = {
        "id": "fire-900",
        "theme": "fire",
        "type": "single",
        "stem": "题干",
        "options": ["a", "b", "c"],
        "answer": "B",
        "explanation": "因为",
        "source": "法条",
    }
    base.update(kw)
    return base


def test_clean_question_accepts_good_and_canonicalises():
    values, problems = clean_question(_q(type="multiple", answer="c,a"))
    assert problems == [] and values["answer"] == "AC"
    values, problems = clean_question(_q(type="judge", options=None, answer=True))
    assert problems == [] and values["answer"] == "T" and values["options"] == []
    values, _ = clean_question(_q(type="判断", options=None, answer="错"))
    assert values["answer"] == "F" and values["type"] == "judge"


@pytest.mark.parametrize(
    "changes,fragment",
    [
        ({"answer": "D"}, "不在选项"),
        ({"answer": "AB"}, "单选题只能有一个答案"),
        ({"type": "multiple", "answer": "A"}, "至少要有两个"),
        ({"type": "essay"}, "题型"),
        ({"stem": ""}, "题干"),
        ({"source": ""}, "出处"),
        ({"options": ["a"]}, "至少需要 2 个选项"),
        ({"type": "judge", "options": None, "answer": "maybe"}, "判断题答案"),
        ({"id": "bad id!"}, "编号"),
    ],
)
def test_clean_question_rejects(changes, fragment):
    values, problems = clean_question(_q(**changes))
    assert values is None
    assert any(fragment in p for p in problems), problems
