"""The WeCom adapter: the only package that imports wechatpy.

- `crypto`: callback signature, decryption, encryption (WXBizMsgCrypt scheme)
- `inbound`: the decrypted XML -> `bot.messages.IncomingMessage`
- `client`: the outbound API client (token sharing, retries, timeouts)
"""
