"""The caseworker's console: key generation, reading, exporting and counting sealed reports.

Runs on the caseworker's own computer, offline. Imports `storage` and the standard library only;
never the bot or Telegram.
"""
