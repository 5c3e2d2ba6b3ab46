"""The caseworker's tools, on her own computer: the console (keys, reading, exporting, counting
sealed reports) and the desk (`caseworker.desk`, a local web inbox).

The console imports `storage` and the standard library only. The desk adds its web stack (aiohttp,
Jinja2, pygal) and `flows` for the catalogs and the report's questions. Neither ever imports the
bot or Telegram.
"""
