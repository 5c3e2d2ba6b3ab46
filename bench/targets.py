"""The targets of issues 5 (polling) and 14 (webhook), judged against the bare aiogram bot measured
in the same run and the same mode, and the table that shows every figure with its target met or
missed."""

from __future__ import annotations

from typing import Any


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("inf")


def evaluate(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per target: name, measured value, limit, and whether it was met."""
    real, bare = result["real"], result["bare"]
    rs, bs = real["saturated"], bare["saturated"]
    rp, bp = real["paced"], bare["paced"]
    wipe, idle = real["quick_exit"], real["idle_sessions"]

    def target(name: str, value: float, limit: str, met: bool) -> dict[str, Any]:
        return {"target": name, "value": value, "limit": limit, "met": bool(met)}

    cpu = _ratio(rs["cpu_seconds_per_1000_updates"], bs["cpu_seconds_per_1000_updates"])
    rate = _ratio(rs["updates_per_second"], bs["updates_per_second"])
    rss = round(rp["peak_rss_mib"] - bp["peak_rss_mib"], 1)
    start = _ratio(real["startup_seconds"], bare["startup_seconds"])
    return [
        target("CPU per navigation update, x bare (same users)", cpu, "<= 1.5", cpu <= 1.5),
        target("saturated throughput, x bare", rate, ">= 0.67", rate >= 0.67),
        target(
            "p99 latency, paced users (ms)",
            rp["latency_ms_p99"],
            "<= 50",
            rp["latency_ms_p99"] <= 50,
        ),
        target("peak RSS over bare, paced users (MiB)", rss, "<= 40", rss <= 40),
        target(
            "memory per idle session (KiB)",
            idle["kib_per_idle_session"],
            "<= 4",
            idle["kib_per_idle_session"] <= 4,
        ),
        target(
            "RSS after expiry, x before",
            idle["rss_after_expiry_vs_before"],
            "<= 1.10",
            idle["rss_after_expiry_vs_before"] <= 1.10,
        ),
        target(
            "wipe: deleteMessages calls",
            wipe["delete_calls"],
            "<= 2",
            wipe["delete_calls"] <= 2 and wipe["left_visible_after_exit"] <= 1,
        ),
        target(
            "wipe: tap to last delete (ms)",
            wipe["ms_to_last_delete"],
            "< 100",
            0 <= wipe["ms_to_last_delete"] < 100,
        ),
        target("start to first poll, x bare", start, "<= 1.2", start <= 1.2),
        *_webhook_targets(result),
        *receipt_targets(real["receipts"]),
    ]


def receipt_targets(receipts: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 13: checking receipts (Argon2id, 64 MiB) must not move other users' latency, and
    she sees her replies within a second of typing her receipt."""
    ratio, alone = receipts["p99_ratio"], receipts["alone_ms_to_replies"]
    return [
        {
            "target": "receipts: paced p99 with bursts of receipts, x without",
            "value": ratio,
            "limit": "<= 1.2",
            "met": bool(ratio <= 1.2),
        },
        {
            "target": "receipts: typed receipt to replies on screen (ms)",
            "value": alone,
            "limit": "<= 1000",
            "met": bool(0 < alone <= 1000),
        },
    ]


def _webhook_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 14: serving a webhook, the real bot answers the tap inside the webhook's response,
    one request fewer than polling, so it should cost no more per update than bare aiogram."""
    real, bare = result["webhook"]["real"], result["webhook"]["bare"]
    cpu = _ratio(
        real["saturated"]["cpu_seconds_per_1000_updates"],
        bare["saturated"]["cpu_seconds_per_1000_updates"],
    )
    p99 = real["paced"]["latency_ms_p99"]
    return [
        {
            "target": "webhook: CPU per navigation update, x bare (same users)",
            "value": cpu,
            "limit": "<= 1.0",
            "met": bool(cpu <= 1.0),
        },
        {
            "target": "webhook: p99 latency, paced users (ms)",
            "value": p99,
            "limit": "<= 20",
            "met": bool(p99 <= 20),
        },
    ]


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(
        c.ljust(w) if i == 0 else c.rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def render_table(result: dict[str, Any]) -> str:
    """Every figure: real bot, bare bot, ratio; then the targets, each met or MISSED."""
    real, bare, vault, plan = result["real"], result["bare"], result["vault"], result["plan"]
    rs, bs, rp, bp = real["saturated"], bare["saturated"], real["paced"], bare["paced"]
    wipe, idle = real["quick_exit"], real["idle_sessions"]
    sat = f"saturated, {plan['saturate_users']} users"
    pac = f"paced, {plan['paced_users']} users, ~{plan['pause']:g} s pauses"

    def both(name: str, a: float, b: float) -> list[str]:
        return [name, f"{a:g}", f"{b:g}", f"{_ratio(a, b):g}"]

    rows = [
        ["figure", "real bot", "bare bot", "real/bare"],
        both(f"updates/s ({sat})", rs["updates_per_second"], bs["updates_per_second"]),
        both(
            f"CPU s per 1000 updates ({sat})",
            rs["cpu_seconds_per_1000_updates"],
            bs["cpu_seconds_per_1000_updates"],
        ),
        both(f"latency p50 ms ({sat})", rs["latency_ms_p50"], bs["latency_ms_p50"]),
        both(f"latency p99 ms ({sat})", rs["latency_ms_p99"], bs["latency_ms_p99"]),
        both(
            f"emulator CPU, cores ({sat})",
            rs["emulator_cpu_utilisation"],
            bs["emulator_cpu_utilisation"],
        ),
        both(f"updates/s ({pac})", rp["updates_per_second"], bp["updates_per_second"]),
        both(
            f"CPU s per 1000 updates ({pac})",
            rp["cpu_seconds_per_1000_updates"],
            bp["cpu_seconds_per_1000_updates"],
        ),
        both(f"latency p50 ms ({pac})", rp["latency_ms_p50"], bp["latency_ms_p50"]),
        both(f"latency p95 ms ({pac})", rp["latency_ms_p95"], bp["latency_ms_p95"]),
        both(f"latency p99 ms ({pac})", rp["latency_ms_p99"], bp["latency_ms_p99"]),
        both(f"peak RSS MiB ({pac})", rp["peak_rss_mib"], bp["peak_rss_mib"]),
        both(
            "start to first getUpdates, s (median)",
            real["startup_seconds"],
            bare["startup_seconds"],
        ),
        [
            f"KiB per idle session ({idle['sessions']} sessions)",
            f"{idle['kib_per_idle_session']:g}",
            "-",
            "-",
        ],
        [
            "RSS MiB: before / live / after expiry",
            f"{idle['rss_before_mib']:g}/{idle['rss_live_mib']:g}/{idle['rss_after_expiry_mib']:g}",
            "-",
            "-",
        ],
        [
            f"quick exit of {wipe['messages']} messages: API calls / deleteMessages",
            f"{wipe['api_calls']}/{wipe['delete_calls']}",
            "-",
            "-",
        ],
        ["quick exit: tap to last delete, ms", f"{wipe['ms_to_last_delete']:g}", "-", "-"],
        [
            "reports sealed+stored/s, 1 recipient",
            f"{vault['stored_per_second_1_recipient']:g}",
            "-",
            "-",
        ],
        [
            "reports sealed+stored/s, 3 recipients",
            f"{vault['stored_per_second_3_recipients']:g}",
            "-",
            "-",
        ],
        [
            f"decrypt + export {vault['export_reports']} reports, s",
            f"{vault['decrypt_export_seconds']:g}",
            "-",
            "-",
        ],
    ]
    for others, exits in result["real"].get("exit_after_restart", {}).items():
        for by, fig in exits.items():
            rows.append(
                [
                    f"exit by {by} after restart, {others} others: API calls / deletes / ms",
                    f"{fig['api_calls']}/{fig['delete_calls']}/{fig['ms_to_clean_chat']:g}",
                    "-",
                    "-",
                ]
            )
    hook = result["webhook"]
    ws, wbs = hook["real"]["saturated"], hook["bare"]["saturated"]
    wp, wbp = hook["real"]["paced"], hook["bare"]["paced"]
    rows += [
        both(f"webhook: updates/s ({sat})", ws["updates_per_second"], wbs["updates_per_second"]),
        both(
            f"webhook: CPU s per 1000 updates ({sat})",
            ws["cpu_seconds_per_1000_updates"],
            wbs["cpu_seconds_per_1000_updates"],
        ),
        both(f"webhook: latency p99 ms ({sat})", ws["latency_ms_p99"], wbs["latency_ms_p99"]),
        both(
            f"webhook: emulator CPU, cores ({sat})",
            ws["emulator_cpu_utilisation"],
            wbs["emulator_cpu_utilisation"],
        ),
        both(
            f"webhook: CPU s per 1000 updates ({pac})",
            wp["cpu_seconds_per_1000_updates"],
            wbp["cpu_seconds_per_1000_updates"],
        ),
        both(f"webhook: latency p50 ms ({pac})", wp["latency_ms_p50"], wbp["latency_ms_p50"]),
        both(f"webhook: latency p99 ms ({pac})", wp["latency_ms_p99"], wbp["latency_ms_p99"]),
        both(f"webhook: peak RSS MiB ({pac})", wp["peak_rss_mib"], wbp["peak_rss_mib"]),
        both(
            "webhook: start to setWebhook, s (median)",
            hook["real"]["startup_seconds"],
            hook["bare"]["startup_seconds"],
        ),
        [
            "webhook: quick exit: API calls / deleteMessages / ms",
            f"{hook['real']['quick_exit']['api_calls']}/"
            f"{hook['real']['quick_exit']['delete_calls']}/"
            f"{hook['real']['quick_exit']['ms_to_last_delete']:g}",
            "-",
            "-",
        ],
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [_row(r, widths) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("")
    targets = [["target", "measured", "limit", "status"]] + [
        [t["target"], f"{t['value']:g}", t["limit"], "met" if t["met"] else "MISSED"]
        for t in result["targets"]
    ]
    widths = [max(len(r[i]) for r in targets) for i in range(4)]
    lines.append(_row(targets[0], widths))
    lines.append("-" * len(lines[-1]))
    lines.extend(_row(r, widths) for r in targets[1:])
    if result.get("smoke"):
        lines.append("(smoke run: tiny numbers, the figures and statuses mean nothing)")
    return "\n".join(lines)
