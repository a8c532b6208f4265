"""The demo: the page loads and a chat goes through the real encrypted callback path."""

from __future__ import annotations

import threading
import time

import requests


def test_demo_chat_round_trip(tmp_path):
    from bot.demo.run import start_demo

    demo = start_demo(port=0, database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    thread = threading.Thread(target=demo.server.run, daemon=True)
    thread.start()
    try:
        base = demo.base_url
        page = requests.get(base + "/", timeout=5)
        assert page.status_code == 200 and "安全生产月助手" in page.text
        users = requests.get(base + "/demo/api/users", timeout=5).json()
        assert len(users) >= 12 and any(u["admin"] for u in users)
        res = requests.post(
            base + "/demo/api/send", json={"user": "liuyang", "text": "帮助"}, timeout=10
        )
        assert res.json() == {"status": 200}
        msgs = requests.get(
            base + "/demo/api/messages", params={"user": "liuyang"}, timeout=5
        ).json()
        mine = [i for i, m in enumerate(msgs) if m["from"] == "me"]
        assert len(mine) == 1 and msgs[mine[0]]["body"]["text"]["content"] == "帮助"
        # (a scheduled push may come first, depending on the time of day the test runs)
        after = msgs[mine[0] + 1 :]
        assert any(
            m["from"] == "bot" and "答题" in m["body"].get("text", {}).get("content", "")
            for m in after
        )
        assert demo.fake.count("user/get") == 0  # the directory was synced at start
        bad = requests.post(
            base + "/demo/api/send", json={"user": "nobody", "text": "x"}, timeout=5
        )
        assert bad.status_code == 400
    finally:
        demo.stop()
        thread.join(timeout=5)
        time.sleep(0.1)


def test_a_restarted_demo_keeps_one_set_of_samples(tmp_path):
    """The demo database survives a restart; the samples to try are made once."""
    from sqlalchemy import func, select

    from bot.demo.run import start_demo
    from bot.models import InspectionRound, LearningTask

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    for _ in range(2):
        demo = start_demo(port=0, database_url=url)
        with demo.runtime.factory() as s:
            tasks = s.scalar(select(func.count()).select_from(LearningTask))
            rounds = s.scalar(select(func.count()).select_from(InspectionRound))
        demo.stop()
        assert (tasks, rounds) == (1, 1)
