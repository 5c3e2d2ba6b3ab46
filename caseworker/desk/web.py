"""The desk's web server: the gate every request passes, and the page renderer.

The gate, in order: the Host must be this desk's own loopback address (no DNS rebinding); a
session cookie must have been set by the one-time link printed in the terminal (else a bare
403 page); a change (POST) must carry the session's CSRF token and come from this origin; an idle
desk locks itself; a locked desk serves only its unlock page. Every answer says `no-store`,
forbids framing and sniffing, and carries a strict Content-Security-Policy (scripts and styles
from this desk only, never inline; nothing from anywhere else).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from aiohttp.typedefs import Middleware

from caseworker.desk.labels import (
    LANGUAGE_NAMES,
    REPORTER_STATUS_NAMES,
    STATUS_NAMES,
    Labels,
    pick_language,
)
from caseworker.desk.state import Desk, Phase
from caseworker.render import clean, human_size
from flows.schema import LANGUAGES

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
COOKIE = "desk_session"
LANGUAGE = "language"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
# Pages that work while locked (and do not count as her activity where marked).
OPEN_WHILE_LOCKED = frozenset({"/unlock", "/unlocking", "/progress", "/language", "/lock"})
NOT_ACTIVITY = frozenset({"/progress", "/sync-state"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Session:
    """The one browser session this desk serves."""

    id: str
    csrf: str
    flash: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Gate:
    """The one-time link's token, and the session it opened."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    session: Session | None = None

    def hosts(self) -> frozenset[str]:
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})

    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{h}" for h in self.hosts())

    def open(self, token: str) -> Session | None:
        """Trade the one-time token for the session (once)."""
        if not self.token or not hmac.compare_digest(token, self.token):
            return None
        self.token = ""
        self.session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))
        return self.session

    def check(self, cookie: str | None) -> Session | None:
        if self.session is None or cookie is None:
            return None
        return self.session if hmac.compare_digest(cookie, self.session.id) else None


DESK = web.AppKey("desk", Desk)
GATE = web.AppKey("gate", Gate)
LABELS = web.AppKey("labels", Labels)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
SESSION = web.RequestKey("session", Session)


def security_headers(response: web.StreamResponse, csp: str = CSP) -> None:
    """The headers every answer of the desk carries."""
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on a POST,
    # and the Origin check could not tell her forms from a foreign page's.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"


def _bare(status: int, text: str) -> web.Response:
    response = web.Response(status=status, text=text, content_type="text/plain")
    return response


@web.middleware
async def headers_on_everything(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every answer, errors included."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    if "Content-Security-Policy" not in response.headers:
        security_headers(response)
    else:
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if isinstance(response, web.HTTPException):
        raise response
    return response


def gate_middleware() -> Middleware:
    """Host, session, CSRF, idle lock, locked pages: see the module docstring."""

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        app_gate, desk = request.app[GATE], request.app[DESK]
        if request.host not in app_gate.hosts():
            return _bare(400, "This desk answers on 127.0.0.1 only.")
        if request.path.startswith("/static/") or request.path == "/favicon.ico":
            return await handler(request)
        if request.path == "/open":
            return await handler(request)
        session = app_gate.check(request.cookies.get(COOKIE))
        if session is None:
            return _bare(
                403,
                "Open the desk with the link printed in its terminal. / Жұмыс орнын терминалда "
                "шыққан сілтемемен ашыңыз. / Откройте рабочее место по ссылке из терминала.",
            )
        request[SESSION] = session
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("Origin")
            if origin is not None and origin not in app_gate.origins():
                return _bare(403, "Refused: this change did not come from the desk.")
            if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
                return _bare(403, "Refused: this change did not come from the desk.")
            form = await request.post()
            token = form.get("csrf")
            if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf):
                return _bare(403, "Refused: the form is out of date. Go back and reload the page.")
        if desk.phase is not Phase.LOCKED and desk.idle():
            desk.lock()
        if request.path not in NOT_ACTIVITY and desk.phase is not Phase.LOCKED:
            desk.touch()
        if request.path not in OPEN_WHILE_LOCKED:
            if desk.phase is Phase.LOCKED:
                raise web.HTTPSeeOther("/unlock")
            if desk.phase is Phase.UNLOCKING:
                raise web.HTTPSeeOther("/unlocking")
        return await handler(request)

    return gate


def templates() -> jinja2.Environment:
    """Jinja2 over the desk's templates, autoescaping everything."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shown"] = lambda text: clean(str(text), keep_newlines=True)
    env.filters["size"] = human_size
    env.filters["excerpt"] = lambda text, n=140: _excerpt(clean(" ".join(str(text).split())), n)
    env.filters["short"] = lambda fingerprint: str(fingerprint)[:9]
    return env


def _excerpt(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def language_of(request: web.Request) -> str:
    """Her language: the stored choice, else the browser's."""
    desk = request.app[DESK]
    stored = desk.cache.setting(LANGUAGE)
    return pick_language(stored, request.headers.get("Accept-Language", ""))


def flash(request: web.Request, kind: str, msgid: str) -> None:
    """A one-line message for her next page (`kind`: ok or error)."""
    request[SESSION].flash.append((kind, msgid))


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """A page in her language, with what every page shows (her key, sync state, language)."""
    app = request.app
    desk, labels = app[DESK], app[LABELS]
    lang = language_of(request)
    session = request.get(SESSION)
    messages = list(session.flash) if session is not None else []
    if session is not None:
        session.flash.clear()

    def translate(msgid: str, params: Mapping[str, object] | None = None, **kw: object) -> str:
        return labels.text(lang, msgid, {**(params or {}), **kw})

    def url(path: str, **query: str) -> str:
        return path + ("?" + urlencode(query) if query else "")

    html = (
        app[TEMPLATES]
        .get_template(template)
        .render(
            _=translate,
            lang=lang,
            languages=[(code, labels.text(code, LANGUAGE_NAMES[code])) for code in LANGUAGES],
            status_names=STATUS_NAMES,
            reporter_status_names=REPORTER_STATUS_NAMES,
            language_names=LANGUAGE_NAMES,
            labels=labels,
            desk=desk,
            me=desk.me,
            my_name=desk.my_name,
            csrf=session.csrf if session is not None else "",
            messages=messages,
            path=request.path_qs,
            section=request.path.strip("/").split("/")[0] or "inbox",
            url=url,
            **context,
        )
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)
