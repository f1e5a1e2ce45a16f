"""Builders for page tests: real metric dataclasses, stored as snapshots with ``as_json``, so the
snapshot shapes the page code reads cannot drift from what the metrics write."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from restrat_sync.cache.snapshots import Snapshot
from restrat_sync.config import Config
from restrat_sync.metrics.alignment import Alignment, BucketShare
from restrat_sync.metrics.decisions import DecisionLag
from restrat_sync.metrics.flow import (
    FlowDistribution,
    FlowEfficiency,
    FlowLoad,
    FlowMetrics,
    FlowTime,
    Velocity,
)
from restrat_sync.metrics.initiatives import InitiativeEffort
from restrat_sync.metrics.outcomes import KeyResultProgress, Predictability
from restrat_sync.metrics.pivots import PivotEvent, Pivots
from restrat_sync.metrics.quality import DataQuality
from restrat_sync.metrics.results import as_json
from restrat_sync.pages.inputs import Anchor, PageInputs

# Sunday 2026-11-22: the last complete week is 2026-W46, month 2026-10, quarter 2026-Q3.
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
LAST_SYNC = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
AC = "{http://atlassian.com/content}"
ROOT = (
    '<ac:confluence xmlns:ac="http://atlassian.com/content" '
    'xmlns:ri="http://atlassian.com/resource/identifier">{}</ac:confluence>'
)


def config(**overrides: Any) -> Config:
    """Two themes (GROWTH 60%, RELIABILITY 30%, unaligned 10%) in UTC; ``overrides`` merge in."""
    data: dict[str, Any] = {
        "timezone": "UTC",
        "unaligned_target": 0.1,
        "themes": [
            {"key": "GROWTH", "name": "Grow revenue", "jql": "g.jql", "target": 0.6},
            {"key": "RELIABILITY", "name": "Reliability", "jql": "r.jql", "target": 0.3},
        ],
        "confluence": {
            "title_prefix": "[rs] ",
            "jira_macro": {"server": "Acme Jira", "server_id": "1a2b-3c4d"},
        },
    }
    return Config.model_validate(data | overrides)


def flow(
    finished: Sequence[str] = ("PAY-1", "PAY-2", "PAY-3"),
    median: float | None = 6.5,
    p85: float | None = 9.25,
    efficiency: float | None = 0.75,
    ages: Sequence[tuple[str, float]] = (("PAY-9", 40.5), ("PAY-8", 3.25)),
) -> FlowMetrics:
    keys = tuple(finished)
    counts = {"feature": len(keys), "defect": 0, "risk": 0, "debt": 0}
    return FlowMetrics(
        velocity=Velocity(len(keys), keys),
        flow_time=FlowTime(len(keys), median, p85, keys, (), ()),
        efficiency=FlowEfficiency(efficiency, 7.5, 2.5, keys),
        load=FlowLoad(
            len(ages), 35.0 if ages else None, tuple(ages), tuple(sorted(k for k, _ in ages))
        ),
        distribution=FlowDistribution(
            counts,  # type: ignore[arg-type]
            {"feature": 1.0, "defect": 0.0, "risk": 0.0, "debt": 0.0} if keys else None,
            {"feature": keys, "defect": (), "risk": (), "debt": ()},
        ),
    )


def decision_lag(
    median: float | None = 4.5,
    pending: Sequence[tuple[str, float]] = (("EPIC-7", 20.25), ("EPIC-8", 2.0)),
    alert_days: int = 14,
) -> DecisionLag:
    over = tuple(key for key, age in pending if age > alert_days)
    return DecisionLag(
        count=2 if median is not None else 0,
        median_days=median,
        p85_days=None if median is None else median + 3,
        keys=("EPIC-1", "EPIC-2") if median is not None else (),
        work_before_decision=0,
        work_before_decision_keys=(),
        pending=tuple(pending),
        pending_over_alert=len(over),
        pending_over_alert_keys=over,
        alert_days=alert_days,
        delivery_count=0,
        delivery_median_days=None,
        delivery_p85_days=None,
        delivery_keys=(),
    )


def alignment(
    actual: Mapping[str, float | None] | None = None, quarter: str = "2026-Q4"
) -> Alignment:
    """GROWTH, RELIABILITY, UNALIGNED with planned 0.6/0.3/0.1 and the ``actual`` shares."""
    planned = {"GROWTH": 0.6, "RELIABILITY": 0.3, "UNALIGNED": 0.1}
    shares = actual or {"GROWTH": 0.45, "RELIABILITY": 0.35, "UNALIGNED": 0.2}
    buckets = []
    for bucket, plan in planned.items():
        share = shares.get(bucket)
        deviation = None if share is None else round(share - plan, 4)
        keys = (f"{bucket[:3]}-1",) if share else ()
        buckets.append(BucketShare(bucket, plan, share, deviation, (share or 0) * 10, keys))
    deviations = [abs(b.deviation) for b in buckets if b.deviation is not None]
    av = round(sum(deviations) / 2, 4) if len(deviations) == len(buckets) else None
    return Alignment("active_days", quarter, 10.0 if av is not None else 0.0, av, tuple(buckets))


def pivots(count: int = 1) -> Pivots:
    events = tuple(
        PivotEvent(f"EPIC-{i}", NOW, "priority_change", "Medium → High") for i in range(count)
    )
    return Pivots(
        count=count,
        by_kind={"re_parent": 0, "theme_change": 0, "priority_change": count, "cancellation": 0},
        active_decisions=10,
        rate=count / 10,
        events=events,
        keys=tuple(e.key for e in events),
    )


def initiative_effort(theme: str = "GROWTH", share: float | None = 0.25) -> InitiativeEffort:
    """An initiative's effort: ``share`` of its theme's 40 days."""
    spent = 40.0 * (share or 0.0)
    return InitiativeEffort("active_days", theme, spent, spent, 40.0, share, ("PAY-1",))


def predictability(rate: float | None = 0.75) -> Predictability:
    return Predictability(
        due=4, on_time=3, late=1, unfinished=0, cancelled=0, rate=rate,
        on_time_keys=("PAY-1", "PAY-2", "PAY-3"), late_keys=("PAY-4",),
        unfinished_keys=(), cancelled_keys=(),
    )  # fmt: skip


def key_result(name: str = "Checkout epics delivered", value: float = 3.0) -> KeyResultProgress:
    return KeyResultProgress(name, "done_count", 4.0, value, value / 4.0, ("EPIC-1",))


def data_quality(**changes: Any) -> DataQuality:
    values: dict[str, Any] = {
        "fallback_statuses": ("Approved",),
        "unknown_statuses": (),
        "incomplete_changelogs": ("PAY-5",),
        "no_start": ("PAY-6", "PAY-7"),
        "conflicts": (("EPIC-3", ("GROWTH", "RELIABILITY")),),
        "no_parent": ("PAY-8",),
        "unaligned_share": 0.2,
        "last_sync_at": LAST_SYNC,
        "last_sync_age_hours": 0.5,
        "config_problems": (),
    }
    return DataQuality(**(values | changes))


def period_metrics(
    scopes: Sequence[str] = ("overall", "theme:GROWTH", "theme:RELIABILITY", "unaligned"),
) -> dict[tuple[str, str], Any]:
    """Every period metric of every scope, as ``compute_periods`` would give them."""
    values: dict[tuple[str, str], Any] = {("overall", "alignment"): alignment()}
    for scope in scopes:
        values[(scope, "flow")] = flow()
        values[(scope, "decision_lag")] = decision_lag()
        values[(scope, "pivots")] = pivots()
        values[(scope, "predictability")] = predictability()
    return values


def current_metrics() -> dict[tuple[str, str], Any]:
    return {
        ("overall", "data_quality"): data_quality(),
        ("theme:GROWTH", "key_results"): (key_result(),),
        ("theme:RELIABILITY", "key_results"): (),
    }


def snapshots(
    period: str, values: Mapping[tuple[str, str], Any], computed_at: datetime = NOW
) -> tuple[Snapshot, ...]:
    """``values`` stored the way ``metrics`` stores them: through ``as_json``."""
    return tuple(
        Snapshot(period, scope, metric, computed_at, as_json(value))
        for (scope, metric), value in values.items()
    )


def inputs(
    stored: Mapping[str, Mapping[tuple[str, str], Any]],
    settings: Config | None = None,
    anchors: Mapping[str, tuple[Anchor, ...]] | None = None,
    now: datetime = NOW,
    last_sync_at: datetime = LAST_SYNC,
    computed_at: datetime = NOW,
    last_computed_at: datetime | None = None,
    initiatives: Mapping[str, Anchor] | None = None,
) -> PageInputs:
    """Page inputs holding ``stored`` (period -> (scope, metric) -> metric dataclass), as
    computed at ``computed_at``."""
    chosen = settings or config()
    return PageInputs(
        config=chosen,
        theme_jql={t.key: f'project = PORT AND labels = "{t.key.lower()}"' for t in chosen.themes},
        now=now,
        snapshots={
            period: snapshots(period, values, computed_at) for period, values in stored.items()
        },
        last_sync_at=last_sync_at,
        last_computed_at=last_computed_at,
        anchors=anchors
        or {"GROWTH": (Anchor("PORT-1", "Checkout revamp", "In Progress", "indeterminate"),)},
        initiatives=initiatives or {},
    )


def parse(body: str) -> ET.Element:
    """A storage body as an XML tree (wrapped in a root declaring the ac: and ri: prefixes)."""
    return ET.fromstring(ROOT.format(body))  # noqa: S314 - our own output


def macros(body: str, name: str) -> list[dict[str, str]]:
    """The parameters of every ``name`` macro in ``body``, in document order."""
    found = []
    for element in parse(body).iter(f"{AC}structured-macro"):
        if element.get(f"{AC}name") == name:
            found.append(
                {
                    p.get(f"{AC}name", ""): "".join(p.itertext())
                    for p in element.findall(f"{AC}parameter")
                }
            )
    return found


def text(body: str) -> str:
    """Every text of the body, joined by spaces: what a reader sees, markup aside."""
    return " ".join(t for t in parse(body).itertext())
