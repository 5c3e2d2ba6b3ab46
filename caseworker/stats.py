"""Counts for the organisation's reporting, computed locally from decrypted reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from caseworker.render import clean
from storage.report import Report

NONE = "(none)"


@dataclass(slots=True)
class Stats:
    """Report counts by month, by region and by each form of violence named."""

    total: int = 0
    by_month: Counter[str] = field(default_factory=Counter)
    by_region: Counter[str] = field(default_factory=Counter)
    by_form: Counter[str] = field(default_factory=Counter)

    def add(self, report: Report) -> None:
        """Count one report."""
        self.total += 1
        self.by_month[report.received_day[:7]] += 1
        region = report.answers.get("region")
        self.by_region[region if isinstance(region, str) and region else NONE] += 1
        forms = report.answers.get("forms", [])
        for form in [forms] if isinstance(forms, str) else forms:
            self.by_form[form] += 1

    def as_dict(self) -> dict[str, object]:
        """JSON-ready counts."""
        return {
            "total": self.total,
            "by_month": dict(sorted(self.by_month.items())),
            "by_region": dict(sorted(self.by_region.items())),
            "by_form": dict(sorted(self.by_form.items())),
        }

    def as_text(self) -> str:
        """A plain table for the terminal."""
        lines = [f"reports: {self.total}"]
        for title, counter, by_key in (
            ("by month", self.by_month, True),
            ("by region", self.by_region, False),
            ("by form (a report may name several)", self.by_form, False),
        ):
            lines.append("")
            lines.append(title)
            items = sorted(counter.items()) if by_key else counter.most_common()
            width = max((len(k) for k, _ in items), default=0)
            lines.extend(f"  {clean(k):<{width}}  {n:>6}" for k, n in items)
        return "\n".join(lines)


def compute(reports: Iterable[Report]) -> Stats:
    """Stats over `reports`."""
    stats = Stats()
    for report in reports:
        stats.add(report)
    return stats
