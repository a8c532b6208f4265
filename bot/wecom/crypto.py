"""Callback crypto: signature check, AES decrypt/encrypt, with every failure mapped to a status.

WeCom signs callbacks with sha1(sort(token, timestamp, nonce, encrypt)) and encrypts with
AES-256-CBC, IV = key[:16], PKCS#7 padding to 32-byte blocks (so pads of up to 32 bytes occur;
one of Tencent's own sample vectors ends in a 30-byte pad). Doc: 企业微信开发者中心 "加解密方案说明".

wechatpy's WeChatCrypto raises assorted exceptions (binascii.Error, struct.error,
UnicodeDecodeError, IndexError …) on garbage; the callback endpoint must answer 4xx, never
5xx, so everything is caught here and turned into a `CallbackError` with its status.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from wechatpy.enterprise.crypto import PrpCrypto

_DTD_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class CallbackError(Exception):
    """A callback we refuse: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    parts = sorted([token, timestamp, nonce, encrypt])
    return hashlib.sha1("".join(parts).encode()).hexdigest()


def parse_root(data: bytes | str) -> Element:
    """Parse WeCom XML safely: DTDs and entity declarations are refused, errors are 400."""
    raw = data.encode() if isinstance(data, str) else data
    if _DTD_RE.search(raw):
        raise CallbackError(400, "XML with DOCTYPE/ENTITY declarations is not accepted")
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise CallbackError(400, f"malformed XML: {exc}") from exc
    if root.tag != "xml":
        raise CallbackError(400, "root element must be <xml>")
    return root


def parse_xml(data: bytes | str) -> dict[str, str]:
    """A flat WeCom XML envelope as a dict of its child elements."""
    return {child.tag: (child.text or "") for child in parse_root(data)}


class CallbackCrypto:
    def __init__(self, token: str, encoding_aes_key: str, corp_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        self.token = token
        self.corp_id = corp_id
        self.key = base64.b64decode(encoding_aes_key + "=")
        self._prp = PrpCrypto(self.key)

    # -- checks -------------------------------------------------------------------------
    def check_signature(
        self, msg_signature: str | None, timestamp: str | None, nonce: str | None, encrypt: str
    ) -> None:
        if not msg_signature or timestamp is None or nonce is None:
            raise CallbackError(403, "missing msg_signature, timestamp or nonce")
        expected = signature(self.token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected, msg_signature.lower()):
            raise CallbackError(403, "signature mismatch")

    @staticmethod
    def check_timestamp(timestamp: str | None, max_age: int, now: float | None = None) -> None:
        """Refuse stale or future timestamps: WeCom's scheme itself has no replay protection."""
        if max_age <= 0:
            return
        try:
            ts = int(timestamp or "")
        except ValueError as exc:
            raise CallbackError(403, "timestamp is not a number") from exc
        now = time.time() if now is None else now
        if abs(now - ts) > max_age:
            raise CallbackError(403, "timestamp outside the accepted window")

    # -- decrypt ------------------------------------------------------------------------
    def decrypt(self, encrypt: str) -> str:
        """Decrypt one Encrypt/echostr value; the ReceiveId must be our corp id (403 if not)."""
        try:
            ciphertext = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CallbackError(400, "Encrypt is not valid base64") from exc
        if not ciphertext or len(ciphertext) % 16:
            raise CallbackError(400, "ciphertext length is not a multiple of the AES block")
        try:
            plain = self._prp.cipher.decrypt(ciphertext)
        except Exception as exc:  # noqa: BLE001 - any cipher failure is bad input
            raise CallbackError(400, "cannot decrypt") from exc
        pad = plain[-1]
        if not 1 <= pad <= 32 or len(plain) < 20 + pad:
            raise CallbackError(400, "bad padding")
        body = plain[16:-pad]
        length = int.from_bytes(body[:4], "big")
        if length > len(body) - 4:
            raise CallbackError(400, "bad message length")
        try:
            message = body[4 : 4 + length].decode("utf-8")
            receive_id = body[4 + length :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CallbackError(400, "decrypted payload is not UTF-8") from exc
        if receive_id != self.corp_id:
            raise CallbackError(403, "ReceiveId does not match our corp id")
        return message

    def verify_url(
        self,
        msg_signature: str | None,
        timestamp: str | None,
        nonce: str | None,
        echostr: str | None,
    ) -> str:
        if not echostr:
            raise CallbackError(400, "missing echostr")
        self.check_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def decrypt_callback(
        self, body: bytes, msg_signature: str | None, timestamp: str | None, nonce: str | None
    ) -> str:
        envelope = parse_xml(body)
        encrypt = envelope.get("Encrypt")
        if not encrypt:
            raise CallbackError(400, "no Encrypt element")
        self.check_signature(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    # -- encrypt ------------------------------------------------------------------------
    def encrypt(self, plaintext: str) -> str:
        return self._prp.encrypt(plaintext, self.corp_id).decode()

    def encrypt_reply(self, plaintext: str, nonce: str, timestamp: str | None = None) -> str:
        """The passive-reply envelope WeCom expects."""
        timestamp = timestamp or str(int(time.time()))
        encrypt = self.encrypt(plaintext)
        sig = signature(self.token, timestamp, nonce, encrypt)
        return (
            "<xml><Encrypt><![CDATA[" + encrypt + "]]></Encrypt>"
            "<MsgSignature><![CDATA[" + sig + "]]></MsgSignature>"
            "<TimeStamp>" + timestamp + "</TimeStamp>"
            "<Nonce><![CDATA[" + nonce + "]]></Nonce></xml>"
        )

    def encrypt_callback(self, plaintext: str, nonce: str, timestamp: str) -> tuple[bytes, str]:
        """Build an inbound callback as WeCom would (used by the demo, tests and benchmarks)."""
        encrypt = self.encrypt(plaintext)
        sig = signature(self.token, timestamp, nonce, encrypt)
        body = (
            "<xml><ToUserName><![CDATA[" + self.corp_id + "]]></ToUserName>"
            "<Encrypt><![CDATA[" + encrypt + "]]></Encrypt>"
            "<AgentID><![CDATA[0]]></AgentID></xml>"
        ).encode()
        return body, sig

    def sign_echostr(self, plaintext: str, timestamp: str, nonce: str) -> tuple[str, str]:
        echostr = self.encrypt(plaintext)
        return echostr, signature(self.token, timestamp, nonce, echostr)


__all__ = ["CallbackCrypto", "CallbackError", "parse_xml", "signature"]
