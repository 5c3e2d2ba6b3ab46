"""The staff API: the server side of the caseworkers' desk.

Its own process (``python -m staff_api serve``), next to the bot, on the same vault file. It hands
out sealed reports, keeps sealed case events and the staff audit log, and never sees plaintext:
it holds no private key and imports ``storage`` only, never the bot. Every request but the health
check is signed with a caseworker's own key (RFC 9421; see ``storage.signing``).
"""
