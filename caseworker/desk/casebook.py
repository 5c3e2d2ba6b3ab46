"""The unlocked desk's memory: every decrypted report with its case (status, tags, assignee,
history), and the inbox's filters, search and counts over them. Pure: no I/O, no crypto.

A case's state is folded from its events in order of (seq, event id): the last status wins, tags
are switched on and off, the last assignment wins, and the last `reporter_status` is what she sees
(`received` until one exists). A report whose writer took a receipt has a reply key, and her
follow-up messages join its history by day. Nothing here is ever written to disk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from caseworker.desk.decrypt import OpenedEvent, OpenedMessage, OpenedReport
from storage.events import REPORTER_STATUS, STATUSES
from storage.followups import FIRST_STATUS, MessageId
from storage.keys import PublicKey
from storage.report import ReportId

NEW, IN_PROGRESS, CLOSED = STATUSES
NOT_SAFE = "not_safe"
PAGE_SIZE = 50
NOBODY = "-"  # the assignee filter's value for "assigned to nobody"


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a case's history."""

    id: str
    day: str
    seq: int
    kind: str
    body: Mapping[str, Any]
    author: PublicKey
    name: str


@dataclass(frozen=True, slots=True)
class Item:
    """One line of a case's timeline: a team event (`entry`) or one of her messages (`message`)."""

    day: str
    entry: Entry | None = None
    message: OpenedMessage | None = None


@dataclass(slots=True)
class Case:
    """A report and what the team recorded about it; with a receipt, her reply key, her
    follow-up messages and the status she sees."""

    report: OpenedReport
    history: list[Entry] = field(default_factory=list)
    status: str = NEW
    tags: frozenset[str] = frozenset()
    assignee: str = ""
    search: str = ""
    reply_key: PublicKey | None = None
    messages: list[OpenedMessage] = field(default_factory=list)
    reporter_status: str = FIRST_STATUS
    unread: int = 0

    @property
    def follow_up(self) -> bool:
        """Whether she took a receipt (so she can read replies)."""
        return self.reply_key is not None

    def timeline(self) -> list[Item]:
        """The history with her messages, by day. The server keeps days, never times: within a
        day the team's events come in their order, then her messages (whose order that day is
        not known)."""
        items = [Item(e.day, entry=e) for e in self.history]
        items += [Item(m.day, message=m) for m in sorted(self.messages, key=lambda m: m.id.value)]
        return sorted(items, key=lambda i: (i.day, i.entry is None))

    @property
    def id(self) -> ReportId:
        return self.report.id

    @property
    def next_seq(self) -> int:
        """The seq a new event on this case takes."""
        return max((e.seq for e in self.history), default=0) + 1

    def answer(self, name: str) -> str | list[str] | None:
        """An answer by field name, or None."""
        return self.report.answers.get(name)

    def values(self, name: str) -> list[str]:
        """An answer as a list of values (a single choice becomes a one-item list)."""
        value = self.report.answers.get(name)
        if value is None or value == "":
            return []
        return [value] if isinstance(value, str) else list(value)

    @property
    def not_safe(self) -> bool:
        return self.report.answers.get("safe_now") == NOT_SAFE

    def refold(self) -> None:
        """Recompute status, tags, assignee and the search text from the history."""
        self.history.sort(key=lambda e: (e.seq, e.id))
        status, tags, assignee, seen_by_her = NEW, set[str](), "", FIRST_STATUS
        notes = [m.text for m in self.messages]
        for entry in self.history:
            body = entry.body
            if entry.kind == REPORTER_STATUS:
                seen_by_her = str(body["status"])
            elif entry.kind in ("reply", "note"):
                notes.append(str(body["text"]))
            elif entry.kind == "status":
                status = str(body["status"])
            elif entry.kind == "tag":
                (tags.add if body["on"] else tags.discard)(str(body["tag"]))
            elif entry.kind == "assign":
                assignee = str(body["to"])
        self.status, self.tags, self.assignee = status, frozenset(tags), assignee
        self.reporter_status = seen_by_her
        texts = [v for value in self.report.answers.values() for v in _strings(value)]
        self.search = "\n".join([*texts, *notes, *tags]).casefold()


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


@dataclass(frozen=True, slots=True)
class Filters:
    """The inbox's filters, as given in the page's query string."""

    status: str = NEW
    day_from: str = ""
    day_to: str = ""
    region: str = ""
    form: str = ""
    language: str = ""
    not_safe: bool = False
    tag: str = ""
    assignee: str = ""
    text: str = ""
    unread: bool = False
    page: int = 1

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Filters:
        """From a query string; anything malformed is simply ignored."""
        status = query.get("status", NEW)
        try:
            page = max(1, min(int(query.get("page", "1")), 100_000))
        except ValueError:
            page = 1
        return cls(
            status=status if status in (*STATUSES, "all") else NEW,
            day_from=_day(query.get("from", "")),
            day_to=_day(query.get("to", "")),
            region=query.get("region", "")[:64],
            form=query.get("form", "")[:64],
            language=query.get("language", "")[:16],
            not_safe=query.get("not_safe") == "1",
            tag=query.get("tag", "")[:64],
            assignee=query.get("assignee", "")[:64],
            text=query.get("q", "")[:200].strip(),
            unread=query.get("unread") == "1",
            page=page,
        )

    def query(self, **changes: object) -> dict[str, str]:
        """These filters (changed as given) as query parameters, without empty ones, and never
        the search text: a browser keeps every URL in its history, on disk (the desk keeps the
        search in memory instead, see pages.search)."""
        merged = {
            "status": self.status,
            "from": self.day_from,
            "to": self.day_to,
            "region": self.region,
            "form": self.form,
            "language": self.language,
            "not_safe": "1" if self.not_safe else "",
            "tag": self.tag,
            "assignee": self.assignee,
            "unread": "1" if self.unread else "",
            "page": str(self.page) if self.page > 1 else "",
        }
        merged.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in merged.items() if v}

    def matches(self, case: Case, me: str, *, ignore_status: bool = False) -> bool:
        """Whether `case` passes every filter (`me` is her fingerprint, for "assigned to me")."""
        day = case.report.received_day
        checks = (
            ignore_status or self.status == "all" or case.status == self.status,
            not self.day_from or day >= self.day_from,
            not self.day_to or day <= self.day_to,
            not self.region or self.region in case.values("region"),
            not self.form or self.form in case.values("forms"),
            not self.language or case.report.language == self.language,
            not self.not_safe or case.not_safe,
            not self.tag or self.tag in case.tags,
            not self.assignee or _assigned(case, self.assignee, me),
            not self.text or self.text.casefold() in case.search,
            not self.unread or case.unread > 0,
        )
        return all(checks)


def _assigned(case: Case, wanted: str, me: str) -> bool:
    if wanted == NOBODY:
        return not case.assignee
    if wanted == "me":
        return case.assignee == me
    return case.assignee == wanted


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat() if len(text) == 10 else ""
    except ValueError:
        return ""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the inbox: its cases, the counts per status, and paging."""

    cases: list[Case]
    counts: dict[str, int]
    matching: int
    page: int
    pages: int
    unread: int = 0  # cases (under the other filters, any status) with messages she has not opened


class Casebook:
    """Every case the desk holds while unlocked."""

    def __init__(self, me: PublicKey) -> None:
        self.me = me
        self.cases: dict[ReportId, Case] = {}
        self.orphans: dict[ReportId, list[Entry]] = {}
        self.orphan_messages: dict[ReportId, list[OpenedMessage]] = {}
        self.reply_keys: dict[ReportId, PublicKey] = {}
        self.seen: set[MessageId] = set()
        self.not_for_this_key = 0
        self.damaged = 0

    def add_reports(self, reports: Iterable[OpenedReport]) -> None:
        """Add decrypted reports (with any events and messages that arrived before them)."""
        for report in reports:
            case = Case(
                report=report,
                history=self.orphans.pop(report.id, []),
                reply_key=self.reply_keys.get(report.id),
                messages=self.orphan_messages.pop(report.id, []),
            )
            self._recount(case)
            case.refold()
            self.cases[report.id] = case

    def add_messages(self, messages: Iterable[OpenedMessage]) -> None:
        """Add her decrypted follow-up messages to their cases (kept aside until the report is
        there)."""
        touched: set[ReportId] = set()
        for message in messages:
            case = self.cases.get(message.report_id)
            found = (
                case.messages
                if case is not None
                else self.orphan_messages.setdefault(message.report_id, [])
            )
            if all(m.id != message.id for m in found):
                found.append(message)
                touched.add(message.report_id)
        for rid in touched:
            if rid in self.cases:
                self._recount(self.cases[rid])
                self.cases[rid].refold()

    def set_reply_keys(self, keys: Mapping[ReportId, PublicKey]) -> None:
        """Which reports have a receipt (their writers' public reply keys, as last synced)."""
        self.reply_keys = dict(keys)
        for rid, case in self.cases.items():
            case.reply_key = self.reply_keys.get(rid)

    def mark_seen(self, ids: Iterable[MessageId]) -> None:
        """She opened these messages: they are no longer new."""
        self.seen.update(ids)
        for case in self.cases.values():
            self._recount(case)

    def _recount(self, case: Case) -> None:
        case.unread = sum(1 for m in case.messages if m.id not in self.seen)

    def drop(self, ids: Iterable[ReportId]) -> None:
        """Forget these cases (she deleted hers with her receipt)."""
        for rid in ids:
            self.cases.pop(rid, None)
            self.orphans.pop(rid, None)
            self.orphan_messages.pop(rid, None)
            self.reply_keys.pop(rid, None)

    def add_events(self, events: Iterable[OpenedEvent]) -> None:
        """Add decrypted events to their cases (kept aside until the report is there)."""
        touched: set[ReportId] = set()
        for opened in events:
            e = opened.signed.event
            signed = opened.signed
            entry = Entry(opened.id.hex, e.day, e.seq, e.kind, e.body, signed.author, signed.name)
            case = self.cases.get(opened.report_id)
            history = (
                case.history if case is not None else self.orphans.setdefault(opened.report_id, [])
            )
            if all(h.id != entry.id for h in history):
                history.append(entry)
                touched.add(opened.report_id)
        for rid in touched:
            if rid in self.cases:
                self.cases[rid].refold()

    def drop_expired(self, today: str) -> None:
        """Forget cases whose report reached its expiry day."""
        for rid in [r for r, c in self.cases.items() if c.report.expires_day <= today]:
            del self.cases[rid]

    def get(self, report_id: ReportId) -> Case | None:
        """One case by id."""
        return self.cases.get(report_id)

    def inbox(self, filters: Filters) -> Page:
        """The cases matching `filters`, newest day first, one page of them, and the counts per
        status under the other filters."""
        me = self.me.fingerprint
        counts: Counter[str] = Counter()
        matching: list[Case] = []
        unread = 0
        for case in self.cases.values():
            if not filters.matches(case, me, ignore_status=True):
                continue
            counts[case.status] += 1
            unread += case.unread > 0
            if filters.status == "all" or case.status == filters.status:
                matching.append(case)
        matching.sort(key=lambda c: (c.report.received_day, c.id.value), reverse=True)
        pages = max(1, -(-len(matching) // PAGE_SIZE))
        page = min(filters.page, pages)
        shown = matching[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        all_counts = {s: counts.get(s, 0) for s in STATUSES}
        all_counts["all"] = sum(counts.values())
        return Page(shown, all_counts, len(matching), page, pages, unread)

    def selection(self, filters: Filters) -> list[Case]:
        """Every case matching `filters` (for an export), newest first."""
        me = self.me.fingerprint
        found = [c for c in self.cases.values() if filters.matches(c, me)]
        found.sort(key=lambda c: (c.report.received_day, c.id.value), reverse=True)
        return found

    def choices(self) -> dict[str, list[str]]:
        """The values the filters can take, as found in the cases."""
        regions, forms, languages, tags, assignees = (set[str]() for _ in range(5))
        for case in self.cases.values():
            regions.update(case.values("region"))
            forms.update(case.values("forms"))
            languages.add(case.report.language)
            tags.update(case.tags)
            if case.assignee:
                assignees.add(case.assignee)
        return {
            "region": sorted(regions),
            "form": sorted(forms),
            "language": sorted(languages),
            "tag": sorted(tags),
            "assignee": sorted(assignees),
        }

    def names(self) -> dict[str, str]:
        """Key fingerprint -> the name its owner gave, from signed events (and her own)."""
        found: dict[str, str] = {}
        for case in self.cases.values():
            for entry in case.history:
                if entry.name:
                    found[entry.author.fingerprint] = entry.name
        return found


def week_of(day: str) -> str:
    """The Monday of the ISO week of `day` (charts count reports per week)."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()
