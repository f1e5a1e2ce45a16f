"""The strategy graph's edges over time, rebuilt from the items' changelogs and the syncs.

Three kinds of facts change who is below whom (``domain.md``, "History"):

- **Hierarchy fields** (``parent``, Epic Link, Parent Link). The changelog records each change
  with the keys before and after, so a field's value at any instant is known: the ``from`` of
  its first change before that change, each change's ``to`` until the next one, and the
  current value after the last (the current value wins where the changelog disagrees with it,
  as an incomplete changelog would). An item's hierarchy parent at an instant is the first set
  field in the order parent, Epic Link, Parent Link: the order ``WorkItem.parent_key`` uses.
- **Issue links** followed by a configured ``LinkRule``. Jira records a link in the changelog of
  the issue holding it, worded from its side: ``"This issue implements INIT-1"`` as ``to`` when
  the link was made, as ``from`` when it was removed. The wording's verb names the link type
  and direction (``link_verbs``, from Jira's link-type catalogue). A link the changelog never
  mentions has always existed.
- **Theme membership** of the anchors: every sync lists each theme's JQL and records who joined
  and who left (``MemberSpan``). Nothing is known of the time before the first sync that
  listed a theme, so the members it saw are assumed to have been members since forever, and
  ``known_since`` says from when membership is actually known.

Every instant at which an edge or a membership began or ended is kept as a ``StructureChange``
with the issue whose change caused it: a theme change is dated and explained by these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeVar

from restrat_sync.config import LinkRule
from restrat_sync.model.items import HIERARCHY_FIELDS, LINK, FieldChange, Link, WorkItem
from restrat_sync.model.spans import (
    ALWAYS,
    EARLIEST,
    LATEST,
    Span,
    Spans,
    contains,
    spans_of,
    union,
)

ChangeKind = Literal["re_parent", "link", "membership"]
Edges = tuple[tuple[str, Spans], ...]  # (the key at the other end, when the edge existed)
LinkVerbs = Mapping[str, tuple[str, str]]  # casefolded verb -> (link type, direction)
Triple = tuple[str, str, str]  # (casefolded link type, direction, other key)
LinkEvent = tuple[datetime, int, bool]  # (at, history id, added)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class StructureChange:
    """A moment at which the graph changed, and the issue whose change it was."""

    at: datetime
    key: str  # the issue that was re-parented, linked, or joined or left a theme
    kind: ChangeKind
    detail: str  # "epic_link: PAY-1 → PAY-2", "link added: implements INIT-3", "left GROWTH"


@dataclass(frozen=True)
class Structure:
    """Who was below whom, and when: the graph at every instant."""

    parents: dict[str, Edges]  # child -> its parents: the hierarchy parent first, then links
    children: dict[str, Edges]  # parent -> its children, sorted by key
    changes: tuple[StructureChange, ...] = ()  # in time order
    _by_moment: dict[datetime, list[StructureChange]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for change in self.changes:
            self._by_moment.setdefault(change.at, []).append(change)

    def children_of(self, key: str) -> Edges:
        return self.children.get(key, ())

    def parents_at(self, key: str, moment: datetime) -> tuple[str, ...]:
        """The items directly above ``key`` at ``moment``."""
        return tuple(
            parent
            for parent, when in self.parents.get(key, ())
            if when is ALWAYS or contains(when, moment)
        )

    def ancestors_at(self, key: str, moment: datetime) -> list[str]:
        """Every item above ``key`` at ``moment``, nearest first (cycle-safe)."""
        seen = {key}
        found: list[str] = []
        frontier = [key]
        while frontier:
            above: list[str] = []
            for current in frontier:
                for parent in self.parents_at(current, moment):
                    if parent not in seen:
                        seen.add(parent)
                        found.append(parent)
                        above.append(parent)
            frontier = above
        return found

    def changes_at(self, moment: datetime) -> list[StructureChange]:
        return self._by_moment.get(moment, [])


def structure_of(
    items: Mapping[str, WorkItem],
    link_rules: Sequence[LinkRule],
    link_verbs: LinkVerbs,
    memberships: Iterable[StructureChange] = (),
) -> Structure:
    """The edges over time among ``items`` (edges to keys outside ``items``, and self-edges, are
    dropped, as ``Graph`` drops them), plus ``memberships``' changes for dating."""
    rules = {(rule.type.casefold(), rule.direction) for rule in link_rules}
    parents: dict[str, Edges] = {}
    children: dict[str, list[tuple[str, Spans]]] = defaultdict(list)
    changes: list[StructureChange] = list(memberships)
    for key, item in items.items():
        edges, found = _edges_of(item, rules, link_verbs)
        kept = tuple((parent, when) for parent, when in edges if parent != key and parent in items)
        changes.extend(found)
        if kept:
            parents[key] = kept
            for parent, when in kept:
                children[parent].append((key, when))
    ordered = {parent: tuple(sorted(below)) for parent, below in children.items()}
    changes.sort(key=lambda c: (c.at, c.key, c.kind, c.detail))
    return Structure(parents, ordered, tuple(changes))


def _edges_of(
    item: WorkItem, rules: Collection[tuple[str, str]], verbs: LinkVerbs
) -> tuple[list[tuple[str, Spans]], list[StructureChange]]:
    """The item's parents over time (hierarchy first, then links in the order the item holds
    them), and the moments they changed."""
    if not any(change.field in _STRUCTURAL for change in item.field_changes):
        # Most items: nothing in their history moved them, so today's parents held always.
        return _static_edges(item, rules), []
    hierarchy, moves = _hierarchy_edges(item)
    links, relinks = _link_edges(item, rules, verbs) if rules else ([], [])
    merged: dict[str, Spans] = {}
    for parent, when in [*hierarchy, *links]:
        merged[parent] = union(merged.get(parent, ()), when)
    return list(merged.items()), [*moves, *relinks]


_STRUCTURAL = frozenset((*HIERARCHY_FIELDS, LINK))


def _static_edges(item: WorkItem, rules: Collection[tuple[str, str]]) -> list[tuple[str, Spans]]:
    """Today's parents, for all time: the hierarchy parent, then each followed link's item."""
    found: dict[str, Spans] = {}
    if item.parent_key is not None:
        found[item.parent_key] = ALWAYS
    for link in item.links:
        if (link.type_name.casefold(), link.direction) in rules:
            found.setdefault(link.other_key, ALWAYS)
    return list(found.items())


# --- hierarchy fields ----------------------------------------------------------------------------


def _hierarchy_edges(item: WorkItem) -> tuple[list[tuple[str, Spans]], list[StructureChange]]:
    current = _parent_fields_now(item)
    by_field = {name: field_changes_of(item, name) for name in HIERARCHY_FIELDS}
    values = {name: _field_values(current.get(name), by_field[name]) for name in HIERARCHY_FIELDS}
    moments = sorted({since for timeline in values.values() for since, _ in timeline})
    spans: dict[str, list[Span]] = defaultdict(list)
    for since, until in zip(moments, [*moments[1:], LATEST], strict=True):
        parent = next(
            (value for name in HIERARCHY_FIELDS if (value := value_at(values[name], since))),
            None,
        )
        if parent is not None:
            spans[parent].append((since, until))
    moves = [
        StructureChange(
            c.at, item.key, "re_parent", f"{c.field}: {c.from_string or '∅'} → {c.to_string or '∅'}"
        )
        for name in HIERARCHY_FIELDS
        for c in by_field[name]
        if _key(c.from_string) != _key(c.to_string)
    ]
    return [(parent, spans_of(found)) for parent, found in spans.items()], moves


def _parent_fields_now(item: WorkItem) -> dict[str, str]:
    current = dict(item.parent_fields)
    if not current and item.parent_key is not None:
        current = {HIERARCHY_FIELDS[0]: item.parent_key}
    return current


def parent_fields_at(item: WorkItem, moment: datetime) -> tuple[tuple[str, str], ...]:
    """(field, key) of each hierarchy field set at ``moment``, in ``HIERARCHY_FIELDS`` order:
    what ``WorkItem.parent_fields`` held then."""
    current = _parent_fields_now(item)
    found = (
        (name, value_at(_field_values(current.get(name), field_changes_of(item, name)), moment))
        for name in HIERARCHY_FIELDS
    )
    return tuple((name, value) for name, value in found if value)


def _field_values(
    current: str | None, changes: Sequence[FieldChange]
) -> list[tuple[datetime, str | None]]:
    """(since, value) of a hierarchy field, from the beginning of time (``values_over_time``)."""
    if not changes:
        return [(EARLIEST, current)]
    return values_over_time(
        current, [(c.at, _key(c.from_string), _key(c.to_string)) for c in changes]
    )


def values_over_time(
    current: V, changes: Sequence[tuple[datetime, V, V]]
) -> list[tuple[datetime, V]]:
    """(since, value) of any changelogged value from the beginning of time, given its changes
    in time order as (at, before, after): the first change's ``before`` until it, each
    change's ``after`` until the next one, and ``current`` after the last (the current value
    wins where an incomplete changelog disagrees with it)."""
    if not changes:
        return [(EARLIEST, current)]
    values = [(EARLIEST, changes[0][1])]
    values += [(at, after) for at, _, after in changes[:-1]]
    values.append((changes[-1][0], current))
    return values


def value_at(values: Sequence[tuple[datetime, V]], moment: datetime) -> V:
    """The value ``values_over_time`` gives at ``moment``; a change at ``moment`` has been made."""
    found = values[0][1]
    for since, value in values:  # a handful of entries: a scan beats bisecting tuples
        if since > moment:
            break
        found = value
    return found


def field_changes_of(item: WorkItem, name: str) -> list[FieldChange]:
    """The item's changes of the field ``name``, in time order."""
    return sorted(
        (c for c in item.field_changes if c.field == name), key=lambda c: (c.at, c.history_id)
    )


def _key(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


# --- links ---------------------------------------------------------------------------------------


def _link_edges(
    item: WorkItem, rules: Collection[tuple[str, str]], verbs: LinkVerbs
) -> tuple[list[tuple[str, Spans]], list[StructureChange]]:
    edges: list[tuple[str, Spans]] = []
    changes: list[StructureChange] = []
    for triple, when, found in _link_history(item, verbs, lambda t: t[:2] in rules):
        edges.append((triple[2], when))
        changes += [
            StructureChange(
                at,
                item.key,
                "link",
                f"link {'added' if added else 'removed'}: {triple[0]} {triple[2]}",
            )
            for at, _, added in found
        ]
    return edges, changes


def links_at(item: WorkItem, verbs: LinkVerbs, moment: datetime) -> tuple[Link, ...]:
    """The links ``item`` held at ``moment`` (of every type whose verbs ``verbs`` knows, and
    every link it holds now): the ones it holds now first, in their order."""
    names = {name.casefold(): name for name, _ in verbs.values()}
    names.update({link.type_name.casefold(): link.type_name for link in item.links})
    return tuple(
        Link(names.get(triple[0], triple[0]), triple[1], triple[2])
        for triple, when, _ in _link_history(item, verbs, lambda _: True)
        if contains(when, moment)
    )


def _link_history(
    item: WorkItem, verbs: LinkVerbs, wanted: Callable[[Triple], bool]
) -> Iterator[tuple[Triple, Spans, list[LinkEvent]]]:
    """Each ``wanted`` link the item holds now or its changelog names, with when it existed
    and its additions and removals in time order: those held now first, in their order."""
    now = [(link.type_name.casefold(), link.direction, link.other_key) for link in item.links]
    events: dict[Triple, list[LinkEvent]] = defaultdict(list)
    for change in item.field_changes:
        if change.field != LINK:
            continue
        for text, added in ((change.to_string, True), (change.from_string, False)):
            triple = parse_link_text(text, verbs)
            if triple is not None and wanted(triple):
                events[triple].append((change.at, change.history_id, added))
    held = set(now)
    for triple in dict.fromkeys([*now, *sorted(events)]):
        if wanted(triple):
            found = sorted(events.get(triple, []))
            yield triple, _presence(triple in held, found), found


def _presence(present_now: bool, events: Sequence[LinkEvent]) -> Spans:
    """When a link existed: flipped by each addition or removal, as it is now after the last."""
    if not events:
        return ALWAYS if present_now else ()
    state = not events[0][2]  # before a first addition it was absent; before a removal, there
    since = EARLIEST
    found: list[Span] = []
    for at, _, added in events:
        if added != state:
            if state:
                found.append((since, at))
            since, state = at, added
    if state and present_now:
        found.append((since, LATEST))
    elif state:
        found.append((since, events[-1][0]))  # the removal the changelog lacks: at its last word
    elif present_now:
        found.append((events[-1][0], LATEST))
    return spans_of(found)


def parse_link_text(text: str | None, verbs: LinkVerbs) -> Triple | None:
    """(link type, direction, other key) of a changelog link wording such as
    ``"This issue implements INIT-1"``; None when the verb is not a known link type's."""
    if not text:
        return None
    head, _, other = text.strip().rpartition(" ")
    if not head or not other:
        return None
    said = " ".join(head.split()).casefold()
    # "This issue" is localised on some instances: find the verb the wording ends with.
    for verb, (type_name, direction) in sorted(verbs.items(), key=lambda v: -len(v[0])):
        if said == verb or said.endswith(" " + verb):
            return (type_name.casefold(), direction, other)
    return None


def link_verbs(link_types: Iterable[tuple[str, str, str]]) -> dict[str, tuple[str, str]]:
    """Verb -> (type, direction) from Jira's link types as (name, inward, outward): the holder of
    an outward link says the outward verb."""
    verbs: dict[str, tuple[str, str]] = {}
    for name, inward, outward in link_types:
        verbs.setdefault(" ".join(outward.split()).casefold(), (name, "outward"))
        verbs.setdefault(" ".join(inward.split()).casefold(), (name, "inward"))
    return verbs


# --- membership ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberSpan:
    """A span during which a theme's JQL selected ``key`` (from the cache's memberships)."""

    theme: str
    key: str
    joined: datetime
    left: datetime | None


@dataclass(frozen=True)
class Anchors:
    """Each theme's anchors over time, in config order."""

    by_theme: tuple[tuple[str, tuple[tuple[str, Spans], ...]], ...]
    known_since: dict[str, datetime]  # theme -> the first sync that listed it
    changes: tuple[StructureChange, ...]


def anchors_over_time(themes: Sequence[str], spans: Iterable[MemberSpan]) -> Anchors:
    """The anchors of ``themes`` over time. The members the first listing of a theme saw are
    taken to have been members since forever: nothing earlier is known."""
    by_theme: dict[str, list[MemberSpan]] = {theme: [] for theme in themes}
    for span in spans:
        if span.theme in by_theme:
            by_theme[span.theme].append(span)
    known = {t: min(s.joined for s in found) for t, found in by_theme.items() if found}
    result: list[tuple[str, tuple[tuple[str, Spans], ...]]] = []
    changes: list[StructureChange] = []
    for theme in themes:
        per_key: dict[str, list[Span]] = defaultdict(list)
        for span in by_theme[theme]:
            since = EARLIEST if span.joined == known[theme] else span.joined
            per_key[span.key].append((since, span.left or LATEST))
            if since != EARLIEST:
                changes.append(
                    StructureChange(span.joined, span.key, "membership", f"joined {theme}")
                )
            if span.left is not None:
                changes.append(StructureChange(span.left, span.key, "membership", f"left {theme}"))
        result.append((theme, tuple(sorted((k, spans_of(v)) for k, v in per_key.items()))))
    return Anchors(tuple(result), known, tuple(changes))
