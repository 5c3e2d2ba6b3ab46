"""The desk's pages and the changes she makes from them (each change is a POST with the CSRF
token, answered by a redirect: reloading a page never repeats a change)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from caseworker.desk import charts
from caseworker.desk.casebook import NOBODY, Case, Filters
from caseworker.desk.state import DeskError, Phase
from caseworker.desk.web import (
    COOKIE,
    DESK,
    GATE,
    LABELS,
    LANGUAGE,
    STATIC,
    flash,
    language_of,
    render,
    security_headers,
)
from caseworker.render import safe_filename
from flows.catalog import N_
from flows.schema import LANGUAGES
from storage.errors import ReportNotFound
from storage.events import (
    MAX_NOTE_CHARS,
    MAX_REPLY_CHARS,
    MAX_TAG_CHARS,
    REPLY,
    REPORTER_STATUS,
    REPORTER_STATUSES,
    STATUSES,
)
from storage.followups import MessageId
from storage.keys import Passphrase
from storage.report import ReportId

SAVED = N_("desk.saved")
EXPORT_EMPTY = N_("desk.export.empty")
NOTE_EMPTY = N_("desk.note.empty")
TAG_BAD = N_("desk.tag.bad")
REPLY_EMPTY = N_("desk.reply.empty")
REPLY_SENT = N_("desk.reply.sent")
# Files shown inline only when the declared type is one of these and the bytes agree.
IMAGES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
AUDIO = {"audio/ogg": (b"OggS",), "audio/mpeg": (b"ID3", b"\xff\xfb", b"\xff\xf3")}
STATIC_FILES = {"desk.css": "text/css", "desk.js": "text/javascript"}


def _see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


def _back(form: Any, default: str = "/") -> str:
    """A local path to return to (never another site)."""
    target = form.get("back", default)
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return default
    return target


# --- the gate ----------------------------------------------------------------------------------


async def open_desk(request: web.Request) -> web.StreamResponse:
    """The one-time link: trade its token for a session cookie, then unlock."""
    session = request.app[GATE].open(request.query.get("token", ""))
    if session is None:
        return web.Response(
            status=403,
            text="This link was already used. Restart the desk for a new one.",
            content_type="text/plain",
        )
    response = web.HTTPSeeOther("/unlock")
    response.set_cookie(COOKIE, session.id, httponly=True, samesite="Strict", path="/")
    raise response


async def static(request: web.Request) -> web.StreamResponse:
    """The desk's own CSS and JavaScript."""
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    body = await _read(STATIC / name)
    return web.Response(body=body, content_type=STATIC_FILES[name], charset="utf-8")


async def _read(path: Path) -> bytes:
    data: bytes = await asyncio.to_thread(path.read_bytes)
    return data


async def no_icon(request: web.Request) -> web.StreamResponse:
    """Browsers ask for an icon; the desk has none (and loads nothing from elsewhere)."""
    return web.Response(status=204)


async def unlock_page(request: web.Request) -> web.StreamResponse:
    desk = request.app[DESK]
    if desk.phase is Phase.UNLOCKED:
        raise _see_other("/")
    if desk.phase is Phase.UNLOCKING:
        raise _see_other("/unlocking")
    return render(request, "unlock.html", error=None)


async def unlock(request: web.Request) -> web.StreamResponse:
    desk = request.app[DESK]
    form = await request.post()
    passphrase = form.get("passphrase")
    if not isinstance(passphrase, str) or not passphrase:
        return render(request, "unlock.html", status=400, error=N_("desk.unlock.empty"))
    try:
        await desk.unlock(Passphrase(passphrase))
    except DeskError as error:
        return render(request, "unlock.html", status=401, error=error.msgid)
    raise _see_other("/unlocking")


async def unlocking(request: web.Request) -> web.StreamResponse:
    desk = request.app[DESK]
    if desk.phase is Phase.UNLOCKED:
        raise _see_other("/")
    if desk.phase is Phase.LOCKED:
        raise _see_other("/unlock")
    done, total = desk.progress
    return render(request, "unlocking.html", done=done, total=total)


async def progress(request: web.Request) -> web.StreamResponse:
    desk = request.app[DESK]
    done, total = desk.progress
    return web.json_response({"phase": desk.phase.value, "done": done, "total": total})


async def sync_state(request: web.Request) -> web.StreamResponse:
    """Whether a sync is under way (the page reloads itself when it is done)."""
    status = request.app[DESK].sync_status
    return web.json_response({"running": status.running, "day": status.day})


async def lock(request: web.Request) -> web.StreamResponse:
    request.app[DESK].lock()
    raise _see_other("/unlock")


async def choose_language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    choice = form.get(LANGUAGE)
    if isinstance(choice, str) and choice in LANGUAGES:
        request.app[DESK].cache.set_setting(LANGUAGE, choice)
    raise _see_other(_back(form))


# --- the inbox ---------------------------------------------------------------------------------


def _filters(request: web.Request, query: Mapping[str, str]) -> Filters:
    """The inbox's filters from a query, with her search text from the desk's memory: the
    desk's own pages never put it in a URL, since her browser writes every URL to its history
    on disk. A `q` in a URL typed by hand still sets it (an empty one clears it)."""
    desk = request.app[DESK]
    if "q" in query:
        desk.search = query["q"][:200].strip()
    return Filters.parse({**query, "q": desk.search})


async def search(request: web.Request) -> web.StreamResponse:
    """The inbox's filter form, posted: the search text stays in the desk, the other filters
    go into the inbox's URL."""
    form = await request.post()
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    filters = _filters(request, {"q": "", **fields})
    raise _see_other("/?" + urlencode(filters.query(page="")))


async def inbox(request: web.Request) -> web.StreamResponse:
    desk = request.app[DESK]
    book = desk.book
    assert book is not None
    filters = _filters(request, request.query)
    page = book.inbox(filters)
    return render(
        request,
        "inbox.html",
        filters=filters,
        page=page,
        choices=book.choices(),
        names=_names(request),
        nobody=NOBODY,
        book=book,
    )


def _names(request: web.Request) -> dict[str, str]:
    desk = request.app[DESK]
    names = desk.book.names() if desk.book is not None else {}
    if desk.my_name:
        names[desk.me.fingerprint] = desk.my_name
    return names


def _case(request: web.Request) -> Case:
    desk = request.app[DESK]
    assert desk.book is not None
    try:
        report_id = ReportId.parse(request.match_info["id"])
    except ReportNotFound:
        raise web.HTTPNotFound() from None
    case = desk.book.get(report_id)
    if case is None:
        raise web.HTTPNotFound()
    return case


async def report(request: web.Request) -> web.StreamResponse:
    case = _case(request)
    desk = request.app[DESK]
    assert desk.book is not None
    team = {k.fingerprint for k in desk.team} | {desk.me.fingerprint}
    # Marked "new" on this page, then read: the next page (and the inbox) no longer counts them.
    new_messages = {m.id for m in case.messages if m.id not in desk.book.seen}
    page = render(
        request,
        "report.html",
        case=case,
        names=_names(request),
        team=team,
        statuses=STATUSES,
        reporter_statuses=REPORTER_STATUSES,
        new_messages=new_messages,
        max_note=MAX_NOTE_CHARS,
        max_reply=MAX_REPLY_CHARS,
        max_tag=MAX_TAG_CHARS,
        inline=_inline_kind,
    )
    await desk.mark_read(case)
    return page


def _inline_kind(kind: str, mime: str) -> str:
    """How the report page shows a file: as an image, a player, or only a download link."""
    if kind == "photo" or mime.startswith("image/"):
        return "image"
    if kind == "voice" or mime.startswith("audio/"):
        return "audio"
    return ""


def sniff(data: bytes) -> str | None:
    """The type of an image or sound the browser may show inline, from its first bytes; None for
    anything else (SVG, HTML, PDF, unknown: those are only ever downloads)."""
    for mime, starts in (*IMAGES.items(), *AUDIO.items()):
        if data.startswith(starts):
            if mime == "image/webp" and data[8:12] != b"WEBP":
                continue
            return mime
    return None


async def attachment(request: web.Request) -> web.StreamResponse:
    """One of a report's files, decrypted in memory. Shown inline only when it is an image or
    sound whose bytes match its type; anything else is a download (never HTML, never SVG)."""
    case = _case(request)
    desk = request.app[DESK]
    try:
        number = int(request.match_info["n"])
        if number < 1:
            raise ValueError(number)
        if "message" in request.match_info:
            message_id = MessageId.parse(request.match_info["message"])
            files = await desk.message_files(case.id, message_id)
        else:
            files = await desk.files(case.id)
        item = files[number - 1]
    except (ValueError, IndexError, ReportNotFound):
        raise web.HTTPNotFound() from None
    except DeskError:
        raise web.HTTPNotFound() from None
    sniffed = sniff(item.data) if request.query.get("download") != "1" else None
    inline = sniffed is not None and _inline_kind(item.kind, item.mime) != ""
    if not inline:
        try:
            await desk.record_download(case.id)  # audited as an export, as the console's are
        except DeskError as error:
            flash(request, "error", error.msgid)
            raise _see_other(f"/report/{case.id.hex}") from None
    response = web.Response(
        body=item.data, content_type=sniffed if inline and sniffed else "application/octet-stream"
    )
    name = safe_filename(number, item)
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{_quote(name)}"
    security_headers(response, "default-src 'none'; sandbox; frame-ancestors 'none'")
    return response


def _quote(name: str) -> str:
    return quote(name, safe="")


async def change(request: web.Request) -> web.StreamResponse:
    """Status, note, tag, assignment, a reply to her or the status she sees: a signed, sealed
    case event (the last two sealed to her reply key as well)."""
    case = _case(request)
    desk = request.app[DESK]
    form = await request.post()
    kind = request.match_info["kind"]
    body: dict[str, Any]
    if kind == "status" and form.get("status") in STATUSES:
        body = {"status": form["status"]}
    elif kind == "note":
        text = str(form.get("text", "")).replace("\r\n", "\n").strip()
        if not text or len(text) > MAX_NOTE_CHARS:
            flash(request, "error", NOTE_EMPTY)
            raise _see_other(f"/report/{case.id.hex}")
        body = {"text": text}
    elif kind == "tag":
        tag = " ".join(str(form.get("tag", "")).split())
        if not tag or len(tag) > MAX_TAG_CHARS or any(not ch.isprintable() for ch in tag):
            flash(request, "error", TAG_BAD)
            raise _see_other(f"/report/{case.id.hex}")
        body = {"tag": tag, "on": form.get("on") != "0"}
    elif kind == REPLY:
        return await _reply(request, case, form)
    elif kind == REPORTER_STATUS and form.get("status") in REPORTER_STATUSES:
        body = {"status": form["status"]}
    elif kind == "assign":
        to = str(form.get("to", ""))
        team = {k.fingerprint for k in desk.team} | {desk.me.fingerprint}
        if to not in team and to != "":
            raise web.HTTPBadRequest()
        body = {"to": to}
    else:
        raise web.HTTPBadRequest()
    try:
        await desk.record(case.id, kind, body)
    except DeskError as error:
        flash(request, "error", error.msgid)
    else:
        flash(request, "ok", SAVED)
    raise _see_other(f"/report/{case.id.hex}")


async def _reply(request: web.Request, case: Case, form: Any) -> web.StreamResponse:
    """A reply to her; with the box ticked, then "a caseworker has replied" as what she sees."""
    desk = request.app[DESK]
    back = f"/report/{case.id.hex}"
    text = str(form.get("text", "")).replace("\r\n", "\n").strip()
    if not text or len(text) > MAX_REPLY_CHARS:
        flash(request, "error", REPLY_EMPTY)
        raise _see_other(back)
    try:
        await desk.record(case.id, REPLY, {"text": text})
        if form.get("answered") == "1":
            await desk.record(case.id, REPORTER_STATUS, {"status": "answered"})
    except DeskError as error:
        flash(request, "error", error.msgid)
    else:
        flash(request, "ok", REPLY_SENT)
    raise _see_other(back)


async def sync_now(request: web.Request) -> web.StreamResponse:
    desk = request.app[DESK]
    form = await request.post()
    await desk.sync_now()
    if desk.sync_status.error:
        flash(request, "error", desk.sync_status.error)
    raise _see_other(_back(form))


# --- export ------------------------------------------------------------------------------------


async def export(request: web.Request) -> web.StreamResponse:
    """A case, or every case the inbox's filters select, as a plaintext JSON or CSV download."""
    desk = request.app[DESK]
    form = await request.post()
    fmt = "csv" if form.get("format") == "csv" else "json"
    with_files = fmt == "json" and form.get("attachments") == "1"
    if form.get("report"):
        try:
            rid = ReportId.parse(str(form["report"]))
        except ReportNotFound:
            raise web.HTTPNotFound() from None
        case = desk.book.get(rid) if desk.book is not None else None
        cases = [case] if case is not None else []
    else:
        query = {k: str(v) for k, v in form.items() if k.startswith("f_")}
        cases = desk.selection(_filters(request, {k[2:]: v for k, v in query.items()}))
    back = _back(form)
    if not cases:
        flash(request, "error", EXPORT_EMPTY)
        raise _see_other(back)
    try:
        data = await desk.export(cases, fmt, with_files, _names(request))
    except DeskError as error:
        flash(request, "error", error.msgid)
        raise _see_other(back) from None
    name = f"safe-report-export-{desk.today().isoformat()}-{len(cases)}.{fmt}"
    response = web.Response(
        body=data, content_type="text/csv" if fmt == "csv" else "application/json"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- statistics and the audit log --------------------------------------------------------------


def _figures(request: web.Request) -> tuple[charts.Figures, Filters]:
    desk = request.app[DESK]
    filters = Filters.parse({**request.query, "status": "all"})
    cases = desk.selection(filters)
    return charts.figures(cases, request.app[LABELS]), filters


async def stats(request: web.Request) -> web.StreamResponse:
    found, filters = _figures(request)
    lang = language_of(request)
    tables = {c: charts.rows(found, request.app[LABELS], lang, c) for c in charts.CHARTS}
    query = {k: v for k, v in filters.query().items() if k in ("from", "to")}
    return render(
        request,
        "stats.html",
        found=found,
        tables=tables,
        titles=charts.TITLES,
        chart_names=charts.CHARTS,
        filters=filters,
        chart_query=query,
    )


async def chart(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in charts.CHARTS:
        raise web.HTTPNotFound()
    found, _ = _figures(request)
    body = charts.svg(found, request.app[LABELS], language_of(request), name)
    response = web.Response(body=body, content_type="image/svg+xml")
    security_headers(
        response, "default-src 'none'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"
    )
    return response


async def stats_csv(request: web.Request) -> web.StreamResponse:
    found, _ = _figures(request)
    body = charts.as_csv(found, request.app[LABELS], language_of(request))
    response = web.Response(body=body, content_type="text/csv")
    today = request.app[DESK].today().isoformat()
    response.headers["Content-Disposition"] = f'attachment; filename="statistics-{today}.csv"'
    return response


async def audit(request: web.Request) -> web.StreamResponse:
    desk = request.app[DESK]
    error = None
    entries = []
    try:
        entries = await desk.audit()
    except DeskError as failure:
        error = failure.msgid
    known = {c.hex for c in desk.book.cases} if desk.book is not None else set()
    team = [(k.fingerprint, k.text) for k in desk.team]
    return render(
        request,
        "audit.html",
        entries=entries,
        error=error,
        names=_names(request),
        known=known,
        team=team,
        since=date.fromordinal(desk.today().toordinal() - 31).isoformat(),
    )


def routes(app: web.Application) -> None:
    """Every page and change the desk serves."""
    add = app.router
    add.add_get("/open", open_desk)
    add.add_get("/static/{name}", static)
    add.add_get("/favicon.ico", no_icon)
    add.add_get("/unlock", unlock_page)
    add.add_post("/unlock", unlock)
    add.add_get("/unlocking", unlocking)
    add.add_get("/progress", progress)
    add.add_post("/lock", lock)
    add.add_post("/language", choose_language)
    add.add_get("/", inbox)
    add.add_post("/search", search)
    add.add_get("/report/{id}", report)
    add.add_get("/report/{id}/file/{n}", attachment)
    add.add_get("/report/{id}/message/{message}/file/{n}", attachment)
    add.add_post("/report/{id}/{kind}", change)
    add.add_post("/sync", sync_now)
    add.add_get("/sync-state", sync_state)
    add.add_post("/export", export)
    add.add_get("/stats", stats)
    add.add_get("/stats/{name}.svg", chart)
    add.add_get("/stats.csv", stats_csv)
    add.add_get("/audit", audit)
