"""Issue 17, point 5: content that stays current. What a review found dated is fixed, and the
checks below keep it from coming back: first aid follows the 2025 guidelines (choking: back
blows alternating with abdominal thrusts), the fire service is named 国家消防救援局, chemical
items cite the 危险化学品安全法, earthquakes are graded by emergency-response level (no colour),
and building-fire items cite GB 55037-2022 where it now governs."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.fake_wecom.seed import USERS

CONTENT = Path(__file__).resolve().parent.parent / "content"


def _questions() -> dict[str, dict]:
    out = {}
    for path in sorted((CONTENT / "questions").glob("*.yaml")):
        for q in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]:
            out[q["id"]] = q
    return out


def _all_text(*names: str) -> str:
    paths = [p for n in names for p in sorted(CONTENT.glob(n))]
    return "\n".join(p.read_text(encoding="utf-8") for p in paths)


def test_first_aid_follows_the_2025_guidelines():
    everything = _all_text("**/*.yaml")
    assert "2020心肺复苏" not in everything
    choking = _questions()["firstaid-013"]
    right = choking["options"][ord(choking["answer"]) - ord("A")]
    assert "拍背" in right and "腹部冲击" in right and "交替" in right
    assert "2025" in choking["source"]
    tips = yaml.safe_load((CONTENT / "tips.yaml").read_text(encoding="utf-8"))["tips"]
    day28 = next(t for t in tips if t["day"] == 28)
    assert "拍背5次" in day28["text"] and "交替" in day28["text"] and "2025" in day28["source"]


def test_the_fire_service_has_its_current_name():
    for path in sorted(CONTENT.glob("**/*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.lstrip().startswith("#"):  # a comment may say what it was called
                assert "应急管理部消防救援局" not in line, (path.name, line)


def test_chemical_items_cite_the_law_in_force_since_2026_05_01():
    for q in _questions().values():
        if "危险化学品安全管理条例" in q.get("source", ""):
            assert "《中华人民共和国危险化学品安全法》" in q["source"], q["id"]
        assert "按《危险化学品安全管理条例》" not in q["stem"], q["id"]


def test_building_fire_clauses_cite_gb_55037():
    for q in _questions().values():
        source = q.get("source", "")
        if "GB 50016" in source:
            # Only the height classification (a definition GB 55037 does not restate) and the
            # 4.0 m fire-lane width/clearance (GB 50016 7.1.8; GB 55037 states no figure that
            # review could confirm) stay.
            assert "第2.1.1条" in source or "第7.1.8条" in source, (q["id"], source)
    for qid in ("fire-011", "fire-020", "fire-029", "elevator-032"):
        assert "GB 55037-2022" in _questions()[qid]["source"], qid


def test_earthquake_levels_are_response_levels_not_colours():
    data = yaml.safe_load((CONTENT / "warnings.yaml").read_text(encoding="utf-8"))
    quake = data["warnings"]["earthquake"]
    for level in quake["levels"].values():
        assert not any(c in level["title"] for c in ("蓝色", "黄色", "橙色", "红色")), level
        assert "级响应" in level["title"]
    assert "颜色" in quake["note"] and "不发布颜色预警" in quake["note"]


def test_an_officer_drafting_an_earthquake_notice_sees_the_response_level(wecom, runtime, fake):
    officer = "wangfang"
    assert any(u[0] == officer for u in USERS)
    preview = wecom.text(officer, "预警 地震 二级 @生产一车间").text
    assert "Ⅱ级响应" in preview and "重大地震灾害" in preview, preview
    assert "橙色" not in preview, preview
    reply = wecom.text(officer, "确认发送").text
    assert "已发布预警" in reply
    runtime.sender.drain()
    sent = fake.texts_for("liqiang")[0]
    assert "地震应急提示（Ⅱ级响应" in sent and "橙色" not in sent, sent
