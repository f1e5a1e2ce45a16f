"""The typed config that admins edit: ``config/restrat.yaml`` plus one JQL file per mapping.

``load_config`` reads the YAML, validates it with pydantic and reads every JQL file
(``jql_files``: comments dropped, whitespace folded outside quotes). Every problem is reported
at once, each naming the file, the field path and, where the YAML parser knows it, the line,
e.g.::

    config/restrat.yaml:41: themes[2].target: targets sum to 0.95 in 2026-Q4, not 1

Nothing here does network I/O; ``check`` validates the JQL with Jira separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from restrat_sync.errors import ConfigError
from restrat_sync.jql_files import JqlFile, read_jql_file

FlowState = Literal["new", "active", "waiting", "done", "cancelled"]
FlowCategory = Literal["feature", "defect", "risk", "debt"]
EffortMeasure = Literal["active_days", "story_points", "items"]
KeyResultMeasure = Literal["done_count", "count", "points_done"]
Flavor = Literal["auto", "cloud", "datacenter"]
AttributionMode = Literal["history", "current"]

TARGET_TOLERANCE = 0.001
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
THEME_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")


class Strict(BaseModel):
    # Unknown keys are typos more often than not; reject them so an admin hears about it.
    model_config = ConfigDict(extra="forbid", frozen=True)


class JiraFields(Strict):
    """Custom field ids. Leave empty to discover them from Jira's field list."""

    story_points: str | None = None
    epic_link: str | None = None
    parent_link: str | None = None


class JiraConfig(Strict):
    url: str | None = None
    flavor: Flavor = "auto"
    fields: JiraFields = JiraFields()


class JiraMacro(Strict):
    server: str = "System JIRA"
    server_id: str | None = None


class ConfluenceConfig(Strict):
    url: str | None = None
    space: str = "PORT"
    parent_page: str = "Strategy execution"
    title_prefix: str = ""
    jira_macro: JiraMacro = JiraMacro()


def check_target(value: Target) -> Target:
    shares = value.values() if isinstance(value, dict) else [value]
    for quarter in value if isinstance(value, dict) else []:
        if not QUARTER.match(quarter):
            raise ValueError(f"{quarter!r} is not a quarter like 2026-Q4")
    if any(not 0 <= share <= 1 for share in shares):
        raise ValueError("a target is a share of effort between 0 and 1")
    return value


class KeyResult(Strict):
    name: str = Field(min_length=1)
    jql: str  # a file name inside jql_dir
    target: float = Field(gt=0)
    measure: KeyResultMeasure = "done_count"


def _parse_target(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | dict):
        raise ValueError("a target is a number, or a mapping from quarter (2026-Q4) to number")
    if isinstance(value, dict):
        for quarter, share in value.items():
            if isinstance(share, bool) or not isinstance(share, int | float):
                raise ValueError(f"the target for {quarter} must be a number")
        return {str(quarter): float(share) for quarter, share in value.items()}
    return float(value)


Target = Annotated[float | dict[str, float], BeforeValidator(_parse_target)]


class Theme(Strict):
    key: str
    name: str = Field(min_length=1)
    jql: str  # a file name inside jql_dir selecting the theme's anchor items
    target: Target
    key_results: list[KeyResult] = []

    @field_validator("key")
    @classmethod
    def _key_shape(cls, value: str) -> str:
        if not THEME_KEY.match(value):
            raise ValueError("must be upper case letters, digits or _, starting with a letter")
        return value

    @field_validator("target")
    @classmethod
    def _target_shape(cls, value: Target) -> Target:
        return check_target(value)

    def target_for(self, quarter: str) -> float:
        return target_in(self.target, quarter)


class LinkRule(Strict):
    """Follow issue links of this type: an issue holding the link in ``direction`` inherits the
    theme of the issue at the other end (e.g. an epic that *implements* an initiative)."""

    type: str
    direction: Literal["outward", "inward"] = "outward"


class Hierarchy(Strict):
    # Used only where Jira gives no issuetype.hierarchyLevel (older Data Center).
    levels: dict[str, int] = {
        "Sub-task": -1,
        "Story": 0,
        "Task": 0,
        "Bug": 0,
        "Epic": 1,
        "Initiative": 2,
    }
    flow_level: int = 0
    links: list[LinkRule] = []
    # The level whose items are initiatives (a scope each); None: from the themes' anchors
    # (docs/metrics.md, "Initiatives").
    initiative_level: int | None = None

    @model_validator(mode="after")
    def _initiatives_above_flow(self) -> Self:
        level = self.initiative_level
        if level is not None and level <= self.flow_level:
            raise ValueError(
                f"initiative_level ({level}) must be above flow_level ({self.flow_level}): "
                "an initiative groups flow items, it is not one"
            )
        return self

    def level_of(self, hierarchy_level: int | None, issuetype: str, subtask: bool) -> int:
        """Jira's hierarchyLevel; else (Data Center) the level configured for the type name;
        else -1 for a sub-task and 0 for anything else."""
        if hierarchy_level is not None:
            return hierarchy_level
        return self.levels.get(issuetype, -1 if subtask else 0)


class FlowDistribution(Strict):
    issue_types: dict[str, FlowCategory] = {"Bug": "defect"}
    labels: dict[str, FlowCategory] = {
        "tech-debt": "debt",
        "debt": "debt",
        "security": "risk",
        "risk": "risk",
        "compliance": "risk",
    }
    default: FlowCategory = "feature"


class Decision(Strict):
    min_level: int = 1
    statuses: list[str] = []
    alert_days: int = Field(default=14, ge=1)


class Effort(Strict):
    measure: EffortMeasure = "active_days"


class Schedule(Strict):
    """When the worker's jobs fire, read in ``Config.timezone`` (docs/config.md)."""

    sync: str = "*/15 * * * *"  # a cron expression, or an interval: "every 30s", "every 15m"
    weekly: str = "0 7 * * mon"
    monthly: str = "0 7 1 * *"
    quarterly: str = "0 7 1 1,4,7,10 *"
    # A firing the worker could not start on time (busy, asleep, restarting) still runs this
    # many seconds late; later than that it is skipped until the next firing.
    misfire_grace_seconds: int = Field(default=300, ge=1)
    # Seconds of retry waiting after failures (5xx, connection errors) that one run of the
    # worker may spend in all, across its requests and jobs; 0 retries nothing.
    retry_budget_seconds: float = Field(default=60, ge=0)

    @field_validator("sync")
    @classmethod
    def _cron_or_interval(cls, value: str) -> str:
        seconds = interval_seconds(value)
        if seconds is None and value.strip().startswith("every"):
            raise ValueError(
                f"{value!r} is not an interval: write every <n>s, every <n>m or every <n>h, "
                "e.g. every 15m"
            )
        if seconds is None:
            check_cron(value, "a cron expression (minute hour day month weekday) or an interval")
        elif seconds < MIN_SYNC_SECONDS:
            raise ValueError(
                f"{value!r} is too often: the shortest sync interval is every {MIN_SYNC_SECONDS}s"
            )
        return value

    @field_validator("weekly", "monthly", "quarterly")
    @classmethod
    def _cron_parses(cls, value: str) -> str:
        if interval_seconds(value) is not None:
            raise ValueError(
                f"{value!r}: only schedule.sync may be an interval; pages follow the calendar, "
                "so write a cron expression (minute hour day month weekday)"
            )
        check_cron(value, "a cron expression")
        return value

    def crons(self) -> dict[str, str]:
        """The fields written as cron expressions, by name: every field but an interval sync."""
        fields = {"sync": self.sync, "weekly": self.weekly}
        fields |= {"monthly": self.monthly, "quarterly": self.quarterly}
        return {name: value for name, value in fields.items() if interval_seconds(value) is None}


INTERVAL = re.compile(r"^every\s+(\d+)\s*([smh])$")
INTERVAL_SECONDS = {"s": 1, "m": 60, "h": 3600}
MIN_SYNC_SECONDS = 10
# Where the search for a cron's first firing starts. Any five-field expression that fires at
# all fires within eight years of any date (29 February being the rarest day).
CRON_PROBE = datetime(2000, 1, 1)


def interval_seconds(expression: str) -> int | None:
    """The seconds of an interval written ``every <n>s|m|h``; None when it is not one."""
    match = INTERVAL.match(expression.strip())
    return int(match.group(1)) * INTERVAL_SECONDS[match.group(2)] if match else None


def cron_trigger(expression: str, zone: ZoneInfo) -> CronTrigger:
    """The APScheduler trigger of a five-field cron expression read in ``zone``.

    Raises ValueError when the expression does not parse, or numbers the days of the week:
    APScheduler 3 counts them from Monday = 0 where cron counts from Sunday = 0, so ``1`` would
    silently mean Tuesday. Names (``mon``, ``mon-fri``) mean the same to both.
    """
    fields = expression.split()
    if len(fields) == 5 and re.search(r"\d", re.sub(r"(?<=[a-zA-Z])/\d+", "", fields[4])):
        raise NumberedWeekdayError(
            "name the days of the week (mon, tue, ... sun; ranges like mon-fri): cron numbers "
            "them from Sunday = 0 but the scheduler from Monday = 0, so a number is ambiguous"
        )
    return CronTrigger.from_crontab(expression, timezone=zone)


class NumberedWeekdayError(ValueError):
    """A cron expression numbers the days of the week."""


def check_cron(value: str, wanted: str) -> None:
    try:
        cron_trigger(value, ZoneInfo("UTC"))
    except NumberedWeekdayError as exc:
        raise ValueError(f"{value!r}: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"{value!r} is not {wanted}: {exc}") from exc


def never_firing(schedule: Schedule, zone: ZoneInfo) -> dict[str, str]:
    """The cron fields of ``schedule`` that never fire in ``zone`` (e.g. on 31 February), each
    with its message."""
    probe = CRON_PROBE.replace(tzinfo=zone)
    found = {}
    for name, value in schedule.crons().items():
        if cron_trigger(value, zone).get_next_fire_time(None, probe) is None:
            found[name] = f"{value!r} never fires in {zone.key} (no such date)"
    return found


class Band(Strict):
    """The thresholds of a status lozenge: green, yellow, else red. Which way is better is fixed
    per number (``higher_is_better``), so that an admin only moves the two thresholds."""

    higher_is_better: ClassVar[bool] = False
    share: ClassVar[bool] = False  # a share or rate: both thresholds lie in 0..1
    green: float = Field(ge=0)
    yellow: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for name, value in (("green", self.green), ("yellow", self.yellow)):
            if self.share and value > 1:
                raise ValueError(f"{name} is a share between 0 and 1 (0.1 is 10%), not {value:g}")
        if self.higher_is_better and self.yellow > self.green:
            raise ValueError(
                f"yellow ({self.yellow:g}) must not be above green ({self.green:g}): "
                "higher is better for this number"
            )
        if not self.higher_is_better and self.yellow < self.green:
            raise ValueError(
                f"yellow ({self.yellow:g}) must not be below green ({self.green:g}): "
                "lower is better for this number"
            )
        return self


class LowerIsBetter(Band):
    """Green at or below ``green``, yellow at or below ``yellow``, red above."""


class HigherIsBetter(Band):
    """Green at or above ``green``, yellow at or above ``yellow``, red below."""

    higher_is_better = True


class ShareLowerIsBetter(LowerIsBetter):
    share = True


class ShareHigherIsBetter(HigherIsBetter):
    share = True


class PagesConfig(Strict):
    """What the Confluence pages show: the lozenge thresholds and the length of the trends."""

    alignment_variance: ShareLowerIsBetter = ShareLowerIsBetter(green=0.10, yellow=0.20)
    # |actual - planned| of one bucket; beyond ``yellow`` a theme is over- or under-invested.
    deviation: ShareLowerIsBetter = ShareLowerIsBetter(green=0.05, yellow=0.10)
    decision_lag_days: LowerIsBetter = LowerIsBetter(green=7, yellow=14)  # the median
    pending_decisions: LowerIsBetter = LowerIsBetter(green=0, yellow=3)  # over alert_days
    flow_efficiency: ShareHigherIsBetter = ShareHigherIsBetter(green=0.40, yellow=0.20)
    on_time_rate: ShareHigherIsBetter = ShareHigherIsBetter(green=0.85, yellow=0.70)
    key_result_progress: HigherIsBetter = HigherIsBetter(green=1.0, yellow=0.5)
    sync_age_hours: LowerIsBetter = LowerIsBetter(green=1, yellow=24)
    trend_months: int = Field(default=12, ge=3, le=24)  # overview and quarterly AV trend
    trend_weeks: int = Field(default=12, ge=4, le=53)  # overview velocity trend
    wip_listed: int = Field(default=10, ge=1, le=100)  # oldest items in progress listed
    # Rows of a theme page's initiative table (the largest shares), one count macro each.
    initiatives_listed: int = Field(default=20, ge=1, le=100)


class SyncOptions(Strict):
    scope_jql: str | None = None  # a file name inside jql_dir; optional
    overlap_minutes: int = Field(default=5, ge=0, le=1440)
    # How often a sync also reconciles (finds deleted and moved issues); --full always does.
    reconcile_hours: float = Field(default=24, gt=0)


class Config(Strict):
    jira: JiraConfig = JiraConfig()
    confluence: ConfluenceConfig = ConfluenceConfig()
    jql_dir: str = "../jql"
    sync: SyncOptions = SyncOptions()
    timezone: str = "UTC"
    # Declared before themes so that the themes validator can see it.
    unaligned_target: Target = 0.0
    themes: Annotated[list[Theme], Field(min_length=1)]
    hierarchy: Hierarchy = Hierarchy()
    # history: every period is credited to the structure of its time (docs/metrics.md);
    # current: today's structure applied to every period, as restrat-sync did before.
    attribution: AttributionMode = "history"
    status_map: dict[str, FlowState] = {}
    flow_distribution: FlowDistribution = FlowDistribution()
    decision: Decision = Decision()
    effort: Effort = Effort()
    schedule: Schedule = Schedule()
    pages: PagesConfig = PagesConfig()

    @field_validator("unaligned_target")
    @classmethod
    def _unaligned_shape(cls, value: Target) -> Target:
        return check_target(value)

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule_fires(cls, schedule: Schedule, info: ValidationInfo) -> Schedule:
        # Checked here, where the time zone is known, so that the check reads each cron exactly
        # as the worker will. An invalid zone has its own error already.
        if "timezone" not in info.data:
            return schedule
        problems = never_firing(schedule, ZoneInfo(info.data["timezone"]))
        if problems:
            # A nested error keeps each problem at its own field: schedule.monthly, not schedule.
            raise ValidationError.from_exception_data(
                "Schedule",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("value_error", "{message}", {"message": message}),
                        loc=(name,),
                        input=getattr(schedule, name),
                    )
                    for name, message in problems.items()
                ],
            )
        return schedule

    @field_validator("themes")
    @classmethod
    def _themes_consistent(cls, themes: list[Theme], info: ValidationInfo) -> list[Theme]:
        keys = [theme.key for theme in themes]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"theme keys must be unique; repeated: {', '.join(duplicates)}")
        if "unaligned_target" in info.data:  # else its own error is already reported
            check_targets_sum(themes, info.data["unaligned_target"])
        return themes

    def target_quarters(self) -> list[str]:
        return target_quarters(self.themes, self.unaligned_target)

    def planned_shares(self, quarter: str) -> dict[str, float]:
        return planned_shares(self.themes, self.unaligned_target, quarter)

    def theme(self, key: str) -> Theme:
        return next(theme for theme in self.themes if theme.key == key)


UNALIGNED = "UNALIGNED"
BASE_QUARTER = "0000-Q1"  # stands for "any quarter" when no target is per-quarter


def target_quarters(themes: list[Theme], unaligned: Target) -> list[str]:
    """Every quarter at which some target changes (the base quarter when none does)."""
    quarters: set[str] = set()
    for target in [theme.target for theme in themes] + [unaligned]:
        if isinstance(target, dict):
            quarters.update(target)
    return sorted(quarters, key=quarter_index) or [BASE_QUARTER]


def planned_shares(themes: list[Theme], unaligned: Target, quarter: str) -> dict[str, float]:
    """Planned share per bucket (theme keys plus ``UNALIGNED``) in force in ``quarter``."""
    shares = {theme.key: theme.target_for(quarter) for theme in themes}
    shares[UNALIGNED] = target_in(unaligned, quarter)
    return shares


def check_targets_sum(themes: list[Theme], unaligned: Target) -> None:
    for quarter in target_quarters(themes, unaligned):
        total = sum(planned_shares(themes, unaligned, quarter).values())
        if abs(total - 1) > TARGET_TOLERANCE:
            where = "" if quarter == BASE_QUARTER else f" in {quarter}"
            raise ValueError(
                f"themes' targets plus unaligned_target sum to {total:.3f}{where}, not 1 (±0.001)"
            )


def target_in(target: Target, quarter: str) -> float:
    """The target in force in ``quarter``: the latest one at or before it.

    Before its first quarter a per-quarter target holds its earliest value, so that every
    period has a complete plan; write ``2026-Q1: 0`` to say a theme starts later.
    """
    if not isinstance(target, dict):
        return target
    ordered = sorted(target, key=quarter_index)
    applicable = [q for q in ordered if quarter_index(q) <= quarter_index(quarter)]
    return target[applicable[-1] if applicable else ordered[0]]


def quarter_index(quarter: str) -> int:
    match = QUARTER.match(quarter)
    if not match:
        raise ValueError(f"{quarter!r} is not a quarter like 2026-Q4")
    return int(match.group(1)) * 4 + int(match.group(2)) - 1


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


# --- Loading: YAML with line numbers, JQL files, one error list --------------------------------

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Mapping:
    """One JQL mapping whose membership is tracked: a theme, a key result or the sync scope."""

    key: str  # "theme:GROWTH", "kr:GROWTH:0", "scope"
    label: str
    jql: JqlFile


@dataclass(frozen=True)
class LoadedConfig:
    path: Path
    config: Config
    jql: dict[str, JqlFile]  # by name

    def theme_jql(self, theme: Theme) -> JqlFile:
        return self.jql[theme.jql]

    def mappings(self) -> list[Mapping]:
        found = []
        for theme in self.config.themes:
            found.append(Mapping(f"theme:{theme.key}", theme.name, self.jql[theme.jql]))
            for index, result in enumerate(theme.key_results):
                label = f"{theme.key} key result: {result.name}"
                found.append(Mapping(f"kr:{theme.key}:{index}", label, self.jql[result.jql]))
        if self.config.sync.scope_jql:
            found.append(Mapping("scope", "sync scope", self.jql[self.config.sync.scope_jql]))
        return found


def load_config(path: Path) -> LoadedConfig:
    """Read and validate ``path`` and the JQL files it names; raise ConfigError listing every
    problem."""
    text = _read(path)
    data, lines = _parse_yaml(path, text)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_describe(path, lines, error) for error in exc.errors()]) from None
    jql_dir = (path.parent / config.jql_dir).resolve()
    problems: list[str] = []
    files: dict[str, JqlFile] = {}
    for field_path, name in _jql_references(config):
        where = f"{path}:{_line_of(lines, field_path)}: {format_path(field_path)}"
        try:
            files.setdefault(name, read_jql_file(jql_dir, name, format_path(field_path)))
        except ConfigError as exc:
            problems.extend(f"{where}: {problem}" for problem in exc.problems)
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(path=path, config=config, jql=files)


def format_path(field_path: YamlPath) -> str:
    text = ""
    for part in field_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _jql_references(config: Config) -> list[tuple[YamlPath, str]]:
    refs: list[tuple[YamlPath, str]] = []
    for index, theme in enumerate(config.themes):
        refs.append((("themes", index, "jql"), theme.jql))
        for kr_index, result in enumerate(theme.key_results):
            refs.append((("themes", index, "key_results", kr_index, "jql"), result.jql))
    if config.sync.scope_jql:
        refs.append((("sync", "scope_jql"), config.sync.scope_jql))
    return refs


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: config file not found (set RESTRAT_CONFIG or run `restrat-sync init`)"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot be read: {exc}"]) from None


def _parse_yaml(path: Path, text: str) -> tuple[Any, dict[YamlPath, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise ConfigError([f"{path}:{line}: not valid YAML: {exc.problem}"]) from None
    if not isinstance(data, dict) or node is None:
        raise ConfigError([f"{path}:1: the config must be a mapping of keys to values"])
    lines: dict[YamlPath, int] = {}
    _index_lines(node, (), lines)
    return data, lines


def _index_lines(node: yaml.Node, here: YamlPath, lines: dict[YamlPath, int]) -> None:
    lines[here] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*here, str(key.value))
            lines[path] = key.start_mark.line + 1
            _index_lines(value, path, lines)
            lines[path] = key.start_mark.line + 1  # the key's line, not its value's
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*here, index), lines)


def _line_of(lines: dict[YamlPath, int], field_path: YamlPath) -> int:
    for end in range(len(field_path), -1, -1):
        if field_path[:end] in lines:
            return lines[field_path[:end]]
    return 1


def _describe(path: Path, lines: dict[YamlPath, int], error: Any) -> str:
    field_path: YamlPath = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling; docs/config.md lists every key)"
    elif error["type"] == "missing":
        message = "required but missing"
    return f"{path}:{_line_of(lines, field_path)}: {format_path(field_path)}: {message}"
