"""Conversation content as data, and the pure engine that walks it.

Nothing here knows about Telegram: flows are YAML files in ``flows/content``, texts are gettext
msgids translated in ``locales/``, and :mod:`flows.engine` turns a session state and an event into
the next screen and any action. The bot renders; this package decides.
"""
