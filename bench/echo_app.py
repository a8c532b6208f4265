"""The reference: a minimal wechatpy + Flask echo bot (WeCom's own sample, in Python).

It verifies and decrypts the callback, parses it with wechatpy and answers an encrypted text
echo — the least any WeCom bot must do. The callback benchmark compares safetybot with it.
"""

import os

from flask import Flask, abort, request
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.replies import TextReply
from wechatpy.exceptions import InvalidSignatureException

crypto = WeChatCrypto(
    os.environ["WECOM_TOKEN"], os.environ["WECOM_ENCODING_AES_KEY"], os.environ["WECOM_CORP_ID"]
)
app = Flask(__name__)


@app.post("/wecom/callback")
def callback():
    args = request.args
    try:
        xml = crypto.decrypt_message(
            request.data, args["msg_signature"], args["timestamp"], args["nonce"]
        )
    except (InvalidSignatureException, KeyError):
        abort(403)
    msg = parse_message(xml)
    reply = TextReply(content=getattr(msg, "content", "") or "ok", message=msg)
    return crypto.encrypt_message(reply.render(), args["nonce"], args["timestamp"])
