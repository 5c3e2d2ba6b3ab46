"""The staff API does what the desk needs, signed by a caseworker's own key, and hands out
nothing but ciphertext, ids, days and sizes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import timedelta

from storage.envelope import open_envelope
from storage.events import CaseEvent, EventId, open_event, seal_event
from storage.followups import (
    Case,
    Followups,
    MessageId,
    open_message,
    read_thread,
    seal_for_reporter,
)
from storage.keys import PrivateKey, parse_public_key
from storage.receipts import derive, insecure_receipt_cost, new_receipt
from storage.report import Report, ReportId
from storage.vault import Vault, utc_today
from tests.staff_api.live import LiveApi


def test_health_needs_no_signature_and_says_nothing_else(api: LiveApi) -> None:
    answer = api.raw("GET", "/v1/health", {})
    assert answer.status == 200 and answer.json() == {"status": "ok", "api": 1}
    assert answer.headers["Cache-Control"] == "no-store"


def test_team_lists_every_key_and_who_asks(api: LiveApi, team: list[PrivateKey]) -> None:
    answer = api.call(team[1], "GET", "/v1/team")
    assert answer.status == 200
    listed = answer.json()
    assert [m["public_key"] for m in listed["team"]] == [k.public.text for k in team]
    assert listed["you"] == team[1].public.fingerprint


def test_index_since_a_day_then_fetch_opens_with_my_key(
    api: LiveApi, team: list[PrivateKey]
) -> None:
    since = (utc_today() - timedelta(days=5)).isoformat()
    listed = api.call(team[0], "GET", f"/v1/index?since={since}").json()
    assert listed["today"] == utc_today().isoformat()
    days = sorted(day for _, day, _, _ in listed["reports"])
    assert days == [since, (utc_today() - timedelta(days=2)).isoformat()]
    ids = [rid for rid, *_ in listed["reports"]]
    assert ids == sorted(ids)  # id order: random, never arrival order
    fetched = api.call(team[0], "POST", "/v1/fetch", {"reports": ids}).json()
    assert set(fetched["reports"]) == set(ids) and fetched["deferred"] == []
    for rid, b64 in fetched["reports"].items():
        report = open_envelope(base64.b64decode(b64), ReportId(bytes.fromhex(rid)), team[0])
        story = report.answers["story"]
        assert isinstance(story, str) and story.startswith("SECRET-STORY-")


def test_a_case_event_round_trip_and_the_audit_log(api: LiveApi, team: list[PrivateKey]) -> None:
    rid = api.report_ids[0]
    eid = EventId.new()
    event = CaseEvent(
        kind="status", body={"status": "in_progress"}, day=utc_today().isoformat(), seq=1
    )
    envelope = seal_event(event, eid, rid, team[0], [k.public for k in team])
    post = {"id": eid.hex, "report": rid.hex, "envelope": base64.b64encode(envelope).decode()}
    assert api.call(team[0], "POST", "/v1/events", post).status == 201
    assert api.call(team[0], "POST", "/v1/events", post).status == 200  # a retry, kept once
    listed = api.call(team[1], "GET", "/v1/index").json()
    assert [eid.hex, rid.hex, utc_today().isoformat()] == listed["events"][0][:3]
    got = api.call(team[1], "POST", "/v1/fetch", {"events": [eid.hex]}).json()["events"]
    report_hex, b64 = got[eid.hex]
    opened = open_event(base64.b64decode(b64), eid, ReportId(bytes.fromhex(report_hex)), team[1])
    assert opened.event == event and opened.author == team[0].public

    export = api.call(team[1], "POST", "/v1/audit", {"action": "export", "reports": [rid.hex]})
    assert export.json() == {"recorded": 1}
    log = api.call(team[0], "GET", f"/v1/audit?since={utc_today().isoformat()}").json()["entries"]
    who = {(actor, action) for _, actor, action, report in log if report == rid.hex}
    assert (team[0].public.fingerprint, "event") in who
    assert (team[1].public.fingerprint, "export") in who
    assert all(len(day) == 10 for day, *_ in log)  # days, never times


def test_events_refused_for_unknown_reports_or_conflicts(
    api: LiveApi, team: list[PrivateKey]
) -> None:
    eid = EventId.new()
    rid = api.report_ids[1]
    event = CaseEvent(kind="note", body={"text": "x"}, day=utc_today().isoformat(), seq=1)
    envelope = seal_event(event, eid, rid, team[0], [team[0].public])
    b64 = base64.b64encode(envelope).decode()
    missing = {"id": eid.hex, "report": ReportId.new().hex, "envelope": b64}
    assert api.call(team[0], "POST", "/v1/events", missing).status == 404
    assert (
        api.call(
            team[0], "POST", "/v1/events", {"id": eid.hex, "report": rid.hex, "envelope": b64}
        ).status
        == 201
    )
    other = seal_event(event, eid, rid, team[0], [team[1].public])
    clash = {"id": eid.hex, "report": rid.hex, "envelope": base64.b64encode(other).decode()}
    assert api.call(team[0], "POST", "/v1/events", clash).status == 409
    report_as_event = {
        "id": EventId.new().hex,
        "report": rid.hex,
        "envelope": base64.b64encode(b"SRPT" + envelope[4:]).decode(),
    }
    assert api.call(team[0], "POST", "/v1/events", report_as_event).status == 400


def test_signed_but_malformed_bodies_get_400(api: LiveApi, team: list[PrivateKey]) -> None:
    key = team[0]
    assert api.call(key, "POST", "/v1/fetch", [1, 2]).status == 400
    assert api.call(key, "POST", "/v1/fetch", {"reports": "nope"}).status == 400
    assert api.call(key, "POST", "/v1/fetch", {"reports": ["zz"]}).status == 400
    assert api.call(key, "POST", "/v1/fetch", {"reports": ["00"] * 501}).status == 400
    assert (
        api.call(key, "POST", "/v1/audit", {"action": "delete", "reports": ["00" * 16]}).status
        == 400
    )
    assert api.call(key, "POST", "/v1/audit", {"action": "export", "reports": []}).status == 400
    assert api.call(key, "POST", "/v1/events", {"id": "x"}).status == 400
    assert api.call(key, "GET", "/v1/index?since=2026-1-1").status == 400
    assert api.call(key, "GET", "/v1/index?since=yesterday").status == 400
    deep = b"[" * 100_000 + b"]" * 100_000  # deeper than the JSON parser goes
    answer = api.raw("POST", "/v1/fetch", api.signed_headers(key, "POST", "/v1/fetch", deep), deep)
    assert answer.status == 400


def test_the_process_is_off_unless_enabled(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [sys.executable, "-m", "staff_api", "serve"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[2]),
        },
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "the staff API is off: set STAFF_API_ENABLED=true to serve it"


def test_a_settings_error_is_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(__import__("pathlib").Path(__file__).parents[2])
    result = subprocess.run(
        [sys.executable, "-m", "staff_api", "serve"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": root,
            "STAFF_API_ENABLED": "true",
            "STAFF_API_LISTEN": "0.0.0.0",
        },
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "STAFF_API_LISTEN" in result.stderr
    json.dumps(result.stderr)


async def _with_receipt(api: LiveApi, team: list[PrivateKey]) -> tuple[Case, MessageId, PrivateKey]:
    """What the bot does when she takes a receipt and later writes back."""
    async with await Vault.open(api.db, recipients=[k.public for k in team]) as vault:
        followups = Followups(vault)
        keys = derive(new_receipt(), await followups.salt(), insecure_receipt_cost())
        await followups.attach(api.report_ids[2], keys)
        case = await followups.find(keys.lookup_id)
        assert case is not None
        words = Report(
            language="en",
            answers={"message": "WRITES-BACK-1"},
            received_day=utc_today().isoformat(),
        )
        return case, await followups.add_message(case, words), keys.reply_key


def test_her_messages_and_reply_key_sync_and_a_reply_reaches_her(
    api: LiveApi, team: list[PrivateKey]
) -> None:
    case, message_id, her_key = api.run(_with_receipt(api, team))
    rid = case.report_id
    listed = api.call(team[1], "GET", f"/v1/index?since={utc_today().isoformat()}").json()
    assert listed["reply_keys"] == {rid.hex: case.reply_key.text}
    assert [message_id.hex, rid.hex, utc_today().isoformat()] == listed["messages"][0][:3]
    got = api.call(team[1], "POST", "/v1/fetch", {"messages": [message_id.hex]}).json()
    report_hex, b64 = got["messages"][message_id.hex]
    assert report_hex == rid.hex and got["deferred_messages"] == []
    opened = open_message(base64.b64decode(b64), message_id, rid, team[1])
    assert opened.answers == {"message": "WRITES-BACK-1"}
    # The desk replies: a case event sealed to the team and to her reply key, posted as any event.
    eid = EventId.new()
    reply = CaseEvent(kind="reply", body={"text": "WE-READ-IT"}, day=utc_today().isoformat(), seq=1)
    reply_key = parse_public_key(listed["reply_keys"][rid.hex])
    envelope = seal_for_reporter(reply, eid, rid, team[1], [k.public for k in team], reply_key)
    post = {"id": eid.hex, "report": rid.hex, "envelope": base64.b64encode(envelope).decode()}
    assert api.call(team[1], "POST", "/v1/events", post).status == 201
    thread = read_thread([(eid, envelope)], rid, her_key, [k.public for k in team])
    assert [r.text for r in thread.replies] == ["WE-READ-IT"]
    assert open_event(envelope, eid, rid, team[0]).event == reply  # the team reads it too
