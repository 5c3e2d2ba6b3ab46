"""The casebook: a case's state folded from its events in order, the inbox's filters, search and
counts, newest first, one page at a time."""

from __future__ import annotations

from caseworker.desk.casebook import PAGE_SIZE, Casebook, Filters
from caseworker.desk.decrypt import OpenedEvent, OpenedMessage, OpenedReport
from storage.events import CaseEvent, EventId, SignedEvent
from storage.followups import MessageId
from storage.keys import generate_keypair
from storage.report import ReportId

ME = generate_keypair("x25519")
COLLEAGUE = generate_keypair("x25519")


def report(day: str, **answers: object) -> OpenedReport:
    return OpenedReport(ReportId.new(), day, "2099-01-01", "ru", dict(answers), ())  # type: ignore[arg-type]


def event(rid: ReportId, seq: int, kind: str, body: dict[str, object], who=ME) -> OpenedEvent:  # type: ignore[no-untyped-def]
    signed = SignedEvent(
        CaseEvent(kind=kind, body=body, day="2026-01-05", seq=seq), who.public, "n"
    )
    return OpenedEvent(EventId.new(), rid, signed)


def test_state_folds_from_events_in_seq_order_whatever_the_arrival() -> None:
    book = Casebook(ME.public)
    r = report("2026-01-01", story="x")
    book.add_events([event(r.id, 3, "status", {"status": "closed"})])  # before its report
    book.add_reports([r])
    book.add_events(
        [
            event(r.id, 1, "status", {"status": "in_progress"}),
            event(r.id, 2, "tag", {"tag": "legal", "on": True}),
            event(r.id, 4, "tag", {"tag": "legal", "on": False}, COLLEAGUE),
            event(r.id, 5, "assign", {"to": ME.public.fingerprint}),
            event(r.id, 6, "note", {"text": "Called the shelter"}),
        ]
    )
    case = book.get(r.id)
    assert case is not None
    assert (case.status, case.tags, case.assignee) == ("closed", frozenset(), ME.public.fingerprint)
    assert case.next_seq == 7 and "called the shelter" in case.search


def test_filters_search_counts_and_newest_first() -> None:
    book = Casebook(ME.public)
    reports = [
        report(
            "2026-01-03",
            region="astana",
            forms=["physical"],
            safe_now="not_safe",
            story="Паспорт забрал",
        ),
        report("2026-01-01", region="almaty_city", forms=["economic", "physical"], story="money"),
        report("2026-01-02", region="astana", forms=["psychological"]),
    ]
    book.add_reports(reports)
    book.add_events([event(reports[2].id, 1, "status", {"status": "in_progress"})])
    page = book.inbox(Filters())
    assert [c.report.received_day for c in page.cases] == ["2026-01-03", "2026-01-01"]
    assert page.counts == {"new": 2, "in_progress": 1, "closed": 0, "all": 3}
    assert [c.id for c in book.inbox(Filters(form="physical")).cases] == [
        reports[0].id,
        reports[1].id,
    ]
    assert [c.id for c in book.inbox(Filters(not_safe=True)).cases] == [reports[0].id]
    assert [c.id for c in book.inbox(Filters(text="ПАСПОРТ")).cases] == [reports[0].id]
    assert [c.id for c in book.inbox(Filters(day_from="2026-01-02")).cases] == [reports[0].id]
    astana = book.inbox(Filters(region="astana", status="all"))
    assert astana.counts["all"] == 2 and astana.counts["in_progress"] == 1


def test_pages_and_malformed_query_values() -> None:
    book = Casebook(ME.public)
    book.add_reports(report(f"2026-01-{d % 28 + 1:02d}") for d in range(PAGE_SIZE + 5))
    second = book.inbox(Filters.parse({"page": "2"}))
    assert (second.page, second.pages, len(second.cases)) == (2, 2, 5)
    odd = Filters.parse({"page": "x", "status": "gone", "from": "2026-13-01", "q": "a" * 999})
    assert (odd.page, odd.status, odd.day_from, len(odd.text)) == (1, "new", "", 200)


def message(rid: ReportId, day: str, text: str) -> OpenedMessage:
    return OpenedMessage(MessageId.new(), rid, day, "kk", text, ())


def test_follow_up_what_she_sees_her_messages_by_day_and_what_is_new() -> None:
    book = Casebook(ME.public)
    r, plain = report("2026-01-01", story="x"), report("2026-01-02", story="y")
    early = message(r.id, "2026-01-04", "Before any reply")
    book.add_messages([early])  # before its report, like an event
    book.set_reply_keys({r.id: generate_keypair("mlkem768x25519").public})
    book.add_reports([r, plain])
    case, other = book.get(r.id), book.get(plain.id)
    assert case is not None and other is not None
    assert case.follow_up and not other.follow_up
    assert case.reporter_status == "received"  # until a caseworker sets what she sees
    book.add_events(
        [
            event(r.id, 1, "reply", {"text": "We read it"}),
            event(r.id, 2, "reporter_status", {"status": "answered"}),
            event(r.id, 3, "status", {"status": "in_progress"}),
        ]
    )
    late = message(r.id, "2026-01-05", "Tuesday suits me")
    book.add_messages([late, late])  # a second sync of the same message adds nothing
    # The internal status and the one she sees are folded apart.
    assert (case.status, case.reporter_status) == ("in_progress", "answered")
    # By day; within the events' day (2026-01-05) her message comes after the team's entries.
    timeline = [i.message.text if i.message else i.entry.kind for i in case.timeline()]  # type: ignore[union-attr]
    assert timeline == [
        "Before any reply",
        "reply",
        "reporter_status",
        "status",
        "Tuesday suits me",
    ]
    assert "tuesday suits me" in case.search and "we read it" in case.search
    assert case.unread == 2
    assert [c.id for c in book.inbox(Filters(status="all", unread=True)).cases] == [r.id]
    assert book.inbox(Filters(status="closed")).unread == 1  # counted whatever the status tab
    book.mark_seen([early.id, late.id])
    assert case.unread == 0 and book.inbox(Filters(status="all", unread=True)).cases == []
    assert Filters.parse({"unread": "1"}).query() == {"status": "new", "unread": "1"}
    book.drop([r.id])  # she deleted her case with her receipt
    assert book.get(r.id) is None and r.id not in book.reply_keys
