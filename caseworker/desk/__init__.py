"""The desk: the caseworker's web inbox on her own computer (``python -m caseworker desk``).

server.py binds 127.0.0.1 and runs it; web.py is the gate (session, CSRF, headers, lock);
pages.py the pages; state.py the key, the unlock and lock, what she changes; casebook.py the
decrypted cases in memory; decrypt.py the worker pool; cache.py the local cache of sealed
envelopes; source.py and sync.py the staff API (or a vault file); labels.py and charts.py the
words and the figures.
"""
