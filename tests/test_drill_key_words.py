"""The facilitator's words for a live drill's moments (README: 演练 开始 / 疏散完成 / 清点完成)
reach each scenario's own key times, whatever the scenario calls them."""

from __future__ import annotations

import pytest

from bot.drills.scenarios import get_scenario


@pytest.mark.parametrize(
    "typed, key",
    [
        ("开始", "start"),
        ("疏散完成", "evacuated"),
        ("清点完成", "counted"),
        ("最后一人撤出大楼", "evacuated"),  # the scenario's own name
        ("交接", "handed_over"),  # a part of one name
        ("start", "start"),
    ],
)
def test_the_fire_drill_understands_the_facilitators_words(typed, key):
    found = get_scenario("fire-evacuation").key_time(typed)
    assert found is not None and found.key == key


def test_an_ambiguous_or_unknown_word_is_none():
    scenario = get_scenario("fire-evacuation")
    assert scenario.key_time("完成") is None  # several names contain it
    assert scenario.key_time("吃饭") is None
