"""Data quality (``domain.md``, "Data quality"): what the data cannot tell, published beside the
numbers and never hidden.

- **fallback_statuses**: status names mapped by their category only (no ``status_map`` entry).
- **unknown_statuses**: status names whose category nobody knew; they were read as ``new``.
- **incomplete_changelogs**: items whose changelog the sync could not complete.
- **no_start**: flow-level items finished ``done`` that never entered ``active`` or
  ``waiting``: they count towards velocity but cannot be measured for flow time. A flow item
  cancelled straight from the backlog is not listed: never starting is what it should do.
- **conflicts**: items reachable from more than one theme, with every theme reaching them.
- **no_parent**: items without a parent at the flow level, or at a decision level (at or above
  ``decision.min_level``), as long as the level is below the top level that has items. The top
  level (the initiatives, say) has nothing above it to hang from, and sub-tasks always have a
  parent in Jira; levels between the flow level and the decision levels are not listed. An
  item that hangs from another through a configured link rule (``linked``) has a parent.
- **unaligned_share**: passed through from the alignment (None: no effort, so no data).
- **last_sync_at** / **last_sync_age_hours**: the last successful sync and how old it is.
- **config_problems**: what ``check`` found wrong in the config.
- **membership_known_since**: from when the themes' membership is known (the first sync that
  listed them); the attribution of earlier moments assumes that sync's membership.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from restrat_sync.model.items import WorkItem
from restrat_sync.model.timeline import Timeline

HOUR_SECONDS = 3_600.0


@dataclass(frozen=True, slots=True)
class DataQuality:
    fallback_statuses: tuple[str, ...]
    unknown_statuses: tuple[str, ...]
    incomplete_changelogs: tuple[str, ...]  # keys
    no_start: tuple[str, ...]  # keys
    conflicts: tuple[tuple[str, tuple[str, ...]], ...]  # (key, themes in config order)
    no_parent: tuple[str, ...]  # keys
    unaligned_share: float | None
    last_sync_at: datetime | None
    last_sync_age_hours: float | None
    config_problems: tuple[str, ...]
    # Theme membership is known from the first sync that listed the themes; before it, that
    # sync's membership is assumed (None: not relevant, as with ``attribution: current``).
    membership_known_since: datetime | None = None

    def problems(self) -> int:
        """How many things are listed as wrong, plus one when no sync ever succeeded. The
        unaligned share and the sync's age are measures, not problems."""
        listed = (
            self.fallback_statuses,
            self.unknown_statuses,
            self.incomplete_changelogs,
            self.no_start,
            self.conflicts,
            self.no_parent,
            self.config_problems,
        )
        return sum(len(entries) for entries in listed) + (self.last_sync_at is None)

    @property
    def is_clean(self) -> bool:
        return self.problems() == 0


def data_quality(
    *,
    fallback_statuses: Iterable[str],
    unknown_statuses: Iterable[str],
    items: Mapping[str, WorkItem],
    timelines: Mapping[str, Timeline],
    flow_level: int,
    decision_level: int,
    conflicts: Mapping[str, Sequence[str]],
    unaligned_share: float | None,
    last_sync_at: datetime | None,
    now: datetime,
    config_problems: Sequence[str] = (),
    linked: Collection[str] = (),
    membership_known_since: datetime | None = None,
) -> DataQuality:
    """The data-quality report of the portfolio. ``fallback_statuses`` and
    ``unknown_statuses`` are the ``FlowStates`` sets after every timeline was built;
    ``timelines`` must hold every key of ``items``. ``linked`` are the keys that have a parent
    through a configured link rule (``Graph.parents``), not counted as without a parent."""
    return DataQuality(
        fallback_statuses=tuple(sorted(set(fallback_statuses))),
        unknown_statuses=tuple(sorted(set(unknown_statuses))),
        incomplete_changelogs=tuple(
            sorted(key for key, item in items.items() if not item.changelog_complete)
        ),
        no_start=_no_start(items, timelines, flow_level),
        conflicts=tuple(sorted((key, tuple(themes)) for key, themes in conflicts.items())),
        no_parent=_no_parent(items, flow_level, decision_level, frozenset(linked)),
        unaligned_share=unaligned_share,
        last_sync_at=last_sync_at,
        last_sync_age_hours=_age_hours(last_sync_at, now),
        config_problems=tuple(config_problems),
        membership_known_since=membership_known_since,
    )


def _no_start(
    items: Mapping[str, WorkItem], timelines: Mapping[str, Timeline], flow_level: int
) -> tuple[str, ...]:
    found = []
    for key, item in items.items():
        if item.level != flow_level:
            continue
        timeline = timelines[key]
        if timeline.outcome == "done" and timeline.start is None:
            found.append(key)
    return tuple(sorted(found))


def _no_parent(
    items: Mapping[str, WorkItem], flow_level: int, decision_level: int, linked: frozenset[str]
) -> tuple[str, ...]:
    top = max((item.level for item in items.values()), default=flow_level)

    def expected(level: int) -> bool:
        return level < top and (level == flow_level or level >= decision_level)

    return tuple(
        sorted(
            key
            for key, item in items.items()
            if item.parent_key is None and key not in linked and expected(item.level)
        )
    )


def _age_hours(last_sync_at: datetime | None, now: datetime) -> float | None:
    if last_sync_at is None:
        return None
    return (now - last_sync_at).total_seconds() / HOUR_SECONDS
