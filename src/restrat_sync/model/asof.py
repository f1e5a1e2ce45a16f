"""The portfolio as it was at an instant, rebuilt from what the changelogs say: pure.

``restrat-sync metrics --as-of T`` computes with only what was known at T. The cache holds
today's items and their changelogs, so the past is rebuilt from those:

- an item created after T does not exist;
- a status change or field change dated after T is dropped;
- an item's status, hierarchy parents (``parent``, Epic Link, Parent Link), links, priority and
  labels are those it had at T, by the rule the graph with memory uses (``model.structure``):
  the ``to`` of the last change at or before T, else the ``from`` of the first change after
  it, else the value now;
- ``resolved`` after T is cleared;
- the themes' membership spans are those known at T: a span that began after T is dropped
  (but for the first listing of a theme, whose members are assumed members since forever,
  as everywhere), a span that ended after T is still open.

Story points, due dates and fix versions are not in the changelog the cache keeps: they stay
as they are now. So does the key-result membership of the items that existed then.

A changelog entry dated before T but synced after it (a backdated change, a status fixed
after the fact) is part of the past it describes: an as-of run shows what the changelogs say
was true at T, and a number stored before the correction arrived is kept as a restatement's
old value (``metrics.restatements``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from restrat_sync.model.items import LABELS, PRIORITY, StatusChange, WorkItem
from restrat_sync.model.structure import (
    LinkVerbs,
    MemberSpan,
    field_changes_of,
    links_at,
    parent_fields_at,
    value_at,
    values_over_time,
)


def item_as_of(item: WorkItem, moment: datetime, verbs: LinkVerbs) -> WorkItem | None:
    """``item`` as it was at ``moment``; None when it was created after it. ``verbs``: the
    link wording of Jira's link types (``structure.link_verbs``), to read link changes."""
    if item.created > moment:
        return None
    statuses = tuple(c for c in item.status_changes if c.at <= moment)
    fields = tuple(c for c in item.field_changes if c.at <= moment)
    resolved = item.resolved if item.resolved is None or item.resolved <= moment else None
    if (len(statuses), len(fields)) == (len(item.status_changes), len(item.field_changes)):
        # Nothing changed after the moment: the item is as it is now (today's values win over
        # an incomplete changelog, as they do in the graph with memory).
        return item if resolved == item.resolved else replace(item, resolved=resolved)
    status_id, status = _status_at(item, moment)
    parents = parent_fields_at(item, moment)
    return replace(
        item,
        status_id=status_id,
        status=status,
        resolved=resolved,
        parent_key=parents[0][1] if parents else None,
        parent_fields=parents,
        links=links_at(item, verbs, moment),
        priority=_field_at(item, PRIORITY, item.priority, moment),
        labels=_labels_at(item, moment),
        status_changes=statuses,
        field_changes=fields,
    )


def _status_at(item: WorkItem, moment: datetime) -> tuple[str, str]:
    """(id, name) of the item's status at ``moment``; its status now where the changelog does
    not say (a change without the status id)."""
    ordered = sorted(item.status_changes, key=lambda c: (c.at, c.history_id, c.item_index))
    values = values_over_time(
        (item.status_id, item.status), [(c.at, _before(c), _after(c)) for c in ordered]
    )
    status_id, status = value_at(values, moment)
    if status_id is None:
        return item.status_id, item.status
    return status_id, status or status_id


def _before(change: StatusChange) -> tuple[str | None, str | None]:
    return change.from_status_id, change.from_status


def _after(change: StatusChange) -> tuple[str | None, str | None]:
    return change.to_status_id, change.to_status


def _field_at(item: WorkItem, name: str, current: str | None, moment: datetime) -> str | None:
    changes = [(c.at, c.from_string, c.to_string) for c in field_changes_of(item, name)]
    return value_at(values_over_time(current, changes), moment)


def _labels_at(item: WorkItem, moment: datetime) -> tuple[str, ...]:
    """Jira writes labels into the changelog as one space-separated string (a label holds no
    space)."""
    now = " ".join(item.labels)
    then = _field_at(item, LABELS, now, moment)
    return item.labels if then == now else tuple((then or "").split())


def items_as_of(
    items: Mapping[str, WorkItem], moment: datetime, verbs: LinkVerbs
) -> dict[str, WorkItem]:
    """The items that existed at ``moment``, each as it was then."""
    found: dict[str, WorkItem] = {}
    for key, item in items.items():
        then = item_as_of(item, moment, verbs)
        if then is not None:
            found[key] = then
    return found


def spans_as_of(spans: Iterable[MemberSpan], moment: datetime) -> tuple[MemberSpan, ...]:
    """The membership spans known at ``moment``. The first listing of each theme stays
    whenever it happened: its members are taken to have been members since forever
    (``structure.anchors_over_time``), before the first sync as after it."""
    spans = tuple(spans)
    first: dict[str, datetime] = {}
    for span in spans:
        first[span.theme] = min(first.get(span.theme, span.joined), span.joined)
    return tuple(
        replace(span, left=span.left if span.left is not None and span.left <= moment else None)
        for span in spans
        if span.joined <= moment or span.joined == first[span.theme]
    )
