"""Issue 13, item 17: the hazard export lists each photo in its own column, as a path relative
to the files folder, the same from the CLI and from the console."""

from __future__ import annotations

import io
import re
from pathlib import Path

from cli_helpers import run_cli
from openpyxl import load_workbook

from bot.console.testing import add_account, login

TICKET = re.compile(r"YH-\d{8}-\d{4}")
PNG = b"\x89PNG\r\n\x1a\n" + b"first-week-d" * 10
OFFICER = "wangfang"  # a safety officer in the seeded directory, and the console admin here


def hazard_with_photos(wecom, fake) -> str:
    for media in ("p1", "p2", "f1"):
        fake.add_media(media, PNG + media.encode())
    wecom.text("liuyang", "隐患 二车间消防通道堆放纸箱")
    wecom.image("liuyang", "p1")
    wecom.image("liuyang", "p2")
    wecom.text("liuyang", "好了")
    wecom.text("liuyang", "跳过")
    ticket = TICKET.search(wecom.text("liuyang", "1").text).group(0)
    assert "已指派" in wecom.text(OFFICER, f"隐患 指派 {ticket} 赵磊 2026-06-20").text
    for key in (f"hazard:start:{ticket}", f"hazard:done:{ticket}"):
        wecom.card_event(
            "zhaolei", key, "hz-" + key.replace(":", "-"), card_type="button_interaction"
        )
    wecom.image("zhaolei", "f1")
    wecom.text("zhaolei", "完成")
    wecom.text("chenjing", "隐患 楼梯扶手松动")  # a second hazard, without photos
    wecom.text("chenjing", "跳过")
    wecom.text("chenjing", "跳过")
    wecom.text("chenjing", "1")
    return ticket


def photo_columns(source, files_dir) -> dict[str, list]:
    ws = load_workbook(source)["隐患台账"]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    photo_headers = [h for h in header if "照片" in h]
    assert photo_headers == ["照片1", "照片2", "整改照片1"]
    by_ticket = {r[1]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    for row in by_ticket.values():
        for h in photo_headers:
            value = row[h]
            if value:
                assert not value.startswith("/") and files_dir not in value and ":" not in value
                assert (Path(files_dir) / value).is_file(), value
    return {t: [r[h] for h in photo_headers] for t, r in by_ticket.items()}


def test_hazard_export_lists_photos_in_columns_relative_to_the_files_folder(
    app, runtime, wecom, fake, clock, cli_runtime, tmp_path
):
    ticket = hazard_with_photos(wecom, fake)
    files_dir = runtime.settings.files_dir
    path = tmp_path / "hazards.xlsx"
    assert run_cli(runtime, cli_runtime, "export", "hazards", str(path)) == 0
    cli = photo_columns(path, files_dir)
    first, second, fix = cli[ticket]
    assert (
        first.startswith("hazards/")
        and second.startswith("hazards/")
        and fix.startswith("hazards/")
    )
    assert len({first, second, fix}) == 3
    [other] = [v for t, v in cli.items() if t != ticket]
    assert other == [None, None, None]
    add_account(runtime.factory, OFFICER, now=clock())
    client = app.test_client()
    login(client, OFFICER)
    assert "导出 Excel" in client.get("/admin/hazards").get_data(as_text=True)
    response = client.get("/admin/hazards.xlsx")
    assert response.status_code == 200
    assert photo_columns(io.BytesIO(response.get_data()), files_dir) == cli
