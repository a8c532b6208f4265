"""Finding English words in text a person reads (issue 13, item 6).

`english_words(text)` returns the ASCII words left after taking out what may stay in ASCII in a
Chinese interface. The allow list is deliberately small; each entry says why it is there.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.fake_wecom.seed import USERS

# Text that is ASCII by nature, removed before looking for words:
ALLOWED_PATTERNS = [
    # Links and mail addresses (people copy them as they are).
    r"(?:https?://|www\.)[\w./?=&%#:~+-]+",
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    # Ticket numbers (隐患 YH-, 建议 JY-, 预警 WT-), whole or as the prefix in a usage hint.
    r"(?<![A-Za-z])(?:YH|JY|WT)-[\d-]*",
    # Standard numbers: GB 4351, GB/T 29639, GBZ 188, AQ 3013, XF 703, TSG T5002 (the codes
    # are the standards' names).
    r"(?<![A-Za-z])(?:GB/T|GBZ|GB|AQ|XF|JGJ|DL/T|DL|HG|TSG)\s*[A-Z]?\d[\d.\-—]*",
    # Units after a number: 36 V, 30 mA, 5 km/h, 2 MB, 1.5 m ...
    r"\d\s*(?:km/h|mA|kV|kW|MB|KB|kg|km|mm|cm|mg|mL|Hz|dB|MPa|kPa|lx|min|V|A|W|m|s|h|L|g|t)(?![A-Za-z])",
    # Question ids (fire-001, chemicals-3fa2b1c9): the number an officer searches the bank by.
    r"(?<![A-Za-z])[a-z]+-(?=[0-9a-f]*\d)[0-9a-f]{3,8}(?![\w-])",
    # Text numbers of a 责任书 (hashes, hex with digits): quoted to prove which text was signed.
    r"(?<![\w])(?=[0-9a-f]*\d)[0-9a-f]{8,64}(?![\w])",
    # Console addresses written into the audit log (/admin/audit): a link, not a sentence.
    r"(?<![\w])/admin[\w/.?=&%-]*",
    # Photo files in the hazard export (hazards/5e/5e3f….png): a file name to open, relative to
    # the files folder.
    r"(?<![\w/])[\w.-]+(?:/[\w.-]+)+\.(?:png|jpe?g|gif|webp|bin)(?![\w])",
    # Markings quoted as printed on equipment and labels: 相线（L）, 标有“T”的按钮, （GHS）.
    r"(?<=[（(“\"「])[A-Z]{1,3}(?=[）)”\"」])",
    # The two link schemes, named where a link is refused: 只接受以 http:// 或 https:// 开头.
    r"(?<![A-Za-z])https?://",
    # mg/100mL: the blood-alcohol unit of GB 19522.
    r"mg/\d+\s*mL",
    # Answer letters of a choice question: A, B, AC, ABD (A–F: at most six options).
    r"(?<![A-Za-z0-9])[A-F]{1,6}(?![A-Za-z0-9])",
]
_ALLOWED = re.compile("|".join(f"(?:{p})" for p in ALLOWED_PATTERNS))
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

# Words people know as they are (abbreviations and product names used in Chinese offices).
ALLOWED_WORDS = {
    "AED",  # 自动体外除颤器: the sign on the box says AED
    "CPR",  # 心肺复苏, as first-aid courses name it
    "Excel",  # the spreadsheet program
    "WPS",  # the office suite most Chinese offices use
    "XLSX",
    "CSV",
    "HTML",
    "PDF",
    "QR",  # file types and QR codes, as the programs label them
    "IP",  # 企业可信IP: the name of the setting in the WeCom admin console
    "SOS",  # the distress signal
    "SDS",  # 化学品安全技术说明书, as GB/T 16483 and the label on the drum call it
    "GHS",  # 全球化学品统一分类和标签制度, as the labels name it
    "SC",
    "QS",
    "GB",  # the marks on food packaging (生产许可 SC, the old QS) and on standards
    "B1",  # 黄曲霉毒素B1, the toxin's name
}
# The seeded people's WeCom userids (shown where a person has no name yet).
ALLOWED_WORDS |= {userid for userid, *_ in USERS}


def english_words(text: str, extra: set[str] = frozenset()) -> list[str]:
    """The ASCII words in `text` outside the allow list (and `extra`, e.g. account names)."""
    rest = _ALLOWED.sub(" ", text or "")
    return [w for w in _WORD.findall(rest) if w not in ALLOWED_WORDS and w not in extra]


class _Visible(HTMLParser):
    """The text of a page a person sees: text nodes outside <script> and <style> (the <title>
    shows in the browser tab, so it counts), and the placeholder/alt/title attributes."""

    SKIP = {"script", "style"}
    SHOWN_ATTRS = ("placeholder", "alt", "title")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        for name, value in attrs:
            if name in self.SHOWN_ATTRS and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return "\n".join(p.strip() for p in parser.parts if p.strip())


def template_strings(node, key: str = ""):
    """(dotted key, text) for every string in a reply-template tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from template_strings(v, f"{key}.{k}" if key else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from template_strings(v, f"{key}[{i}]")
    elif isinstance(node, str):
        yield key, node


def without_placeholders(template: str) -> str:
    """A reply template with its {placeholders} (and {{ }} escapes) taken out."""
    return re.sub(r"\{[^{}]*\}", " ", template.replace("{{", "").replace("}}", ""))
