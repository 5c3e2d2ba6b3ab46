"""Routers, one per concern. The quick exit comes first so nothing can stand in its way."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import flow, identity, quick_exit


def routers() -> list[Router]:
    """All routers in the order updates should meet them."""
    return [quick_exit.router(), identity.router(), flow.router()]
