"""A CAP 1.2 parser (OASIS Common Alerting Protocol 1.2), safe against hostile XML.

Parsing goes through defusedxml with DTDs, entity declarations and external references all
forbidden: a document with any of them (billion laughs, XXE) is rejected before expansion.
A feed is either one <alert> or an Atom feed whose entries embed <alert> elements (or link to
them: those links are returned for the poller to fetch). Anything malformed raises CapError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
SEVERITY_RANK = {name: len(SEVERITIES) - i for i, name in enumerate(SEVERITIES)}
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024


class CapError(ValueError):
    """A document that is not a usable CAP 1.2 alert or feed."""


@dataclass
class CapInfo:
    language: str = "en-US"
    categories: list[str] = field(default_factory=list)
    event: str = ""
    urgency: str = "Unknown"
    severity: str = "Unknown"
    certainty: str = "Unknown"
    headline: str = ""
    description: str = ""
    instruction: str = ""
    expires: str = ""
    area_descs: list[str] = field(default_factory=list)
    geocodes: list[tuple[str, str]] = field(default_factory=list)  # (valueName, value)


@dataclass
class CapAlert:
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str
    infos: list[CapInfo] = field(default_factory=list)

    def best_info(self, prefer: str = "zh") -> CapInfo | None:
        """The info block in the preferred language (CAP repeats info per language)."""
        for info in self.infos:
            if info.language.lower().startswith(prefer):
                return info
        return self.infos[0] if self.infos else None


@dataclass
class ParsedFeed:
    alerts: list[CapAlert] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # alerts to fetch (Atom entries with a link)
    errors: list[str] = field(default_factory=list)  # entries skipped, with the reason


def _parse_xml(data: bytes | str) -> Element:
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_DOCUMENT_BYTES:
        raise CapError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CapError(f"forbidden XML construct: {exc.__class__.__name__}") from exc
    except ParseError as exc:
        raise CapError(f"not well-formed XML: {exc}") from exc


def _q(name: str, ns: str = CAP_NS) -> str:
    return f"{{{ns}}}{name}"


def _text(parent: Element, name: str) -> str:
    el = parent.find(_q(name))
    return (el.text or "").strip() if el is not None else ""


def _required(parent: Element, name: str) -> str:
    value = _text(parent, name)
    if not value:
        raise CapError(f"missing required element <{name}>")
    return value


def alert_from_element(el: Element) -> CapAlert:
    if el.tag != _q("alert"):
        raise CapError(f"not a CAP 1.2 alert: root element {el.tag!r}")
    alert = CapAlert(
        identifier=_required(el, "identifier"),
        sender=_required(el, "sender"),
        sent=_required(el, "sent"),
        status=_required(el, "status"),
        msg_type=_required(el, "msgType"),
        scope=_required(el, "scope"),
    )
    for info_el in el.findall(_q("info")):
        info = CapInfo(
            language=_text(info_el, "language") or "en-US",
            categories=[(c.text or "").strip() for c in info_el.findall(_q("category"))],
            event=_required(info_el, "event"),
            urgency=_required(info_el, "urgency"),
            severity=_required(info_el, "severity"),
            certainty=_required(info_el, "certainty"),
            headline=_text(info_el, "headline"),
            description=_text(info_el, "description"),
            instruction=_text(info_el, "instruction"),
            expires=_text(info_el, "expires"),
        )
        if info.severity not in SEVERITY_RANK:
            raise CapError(f"unknown severity {info.severity!r}")
        for area in info_el.findall(_q("area")):
            info.area_descs.append(_text(area, "areaDesc"))
            for geocode in area.findall(_q("geocode")):
                info.geocodes.append((_text(geocode, "valueName"), _text(geocode, "value")))
        alert.infos.append(info)
    return alert


def parse_alert(data: bytes | str) -> CapAlert:
    return alert_from_element(_parse_xml(data))


def parse_feed(data: bytes | str) -> ParsedFeed:
    """One <alert>, or an Atom feed of entries that embed or link alerts."""
    root = _parse_xml(data)
    if root.tag == _q("alert"):
        return ParsedFeed(alerts=[alert_from_element(root)])
    if root.tag != _q("feed", ATOM_NS):
        raise CapError(f"neither a CAP 1.2 alert nor an Atom feed: {root.tag!r}")
    feed = ParsedFeed()
    for entry in root.findall(_q("entry", ATOM_NS)):
        embedded = entry.find(f".//{_q('alert')}")
        if embedded is not None:
            try:
                feed.alerts.append(alert_from_element(embedded))
            except CapError as exc:
                feed.errors.append(str(exc))
            continue
        link = _alert_link(entry)
        if link:
            feed.links.append(link)
        else:
            feed.errors.append("Atom entry without a CAP alert or link")
    return feed


def _alert_link(entry: Element) -> str | None:
    links = entry.findall(_q("link", ATOM_NS))
    for link in links:  # prefer a link typed as CAP
        if "cap" in (link.get("type") or "").lower() and link.get("href"):
            return link.get("href")
    for link in links:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href")
    return None


def severity_at_least(severity: str, minimum: str) -> bool:
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK.get(minimum, 0)
