"""``restrat-sync check``: validate the config offline, then against Jira, Confluence and the
cache database.

The offline part is ``config.load_config`` plus what the config alone tells (page titles too
long for Confluence). Online, this module also checks connectivity and credentials, detects the
Jira flavour, has Jira validate every JQL file (reported at each file's line and column),
counts what each one matches, discovers the custom fields, lists statuses with no explicit
flow-state mapping, looks for the Confluence space, and reads the cache's schema revision.

Failures that make the rest meaningless raise at once (unreachable services, refused
credentials, a base URL that is not Jira's or Confluence's, rejected JQL, an unusable cache).
Problems that leave the rest checkable (a URL not set, a space that does not exist) are
collected in ``CheckReport.problems``: the report is printed, then check fails with exit 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from restrat_sync.cache.engine import SchemaState, schema_state
from restrat_sync.config import Config, LoadedConfig
from restrat_sync.confluence import connect_confluence
from restrat_sync.errors import JqlRejected
from restrat_sync.http import RetryingSession
from restrat_sync.jira import FieldIds, JiraGateway, connect_jira, discover_fields, flavor_of
from restrat_sync.jql_files import JqlFile
from restrat_sync.pages.build import page_titles
from restrat_sync.settings import Settings, confluence_credentials, jira_credentials

CATEGORY_DEFAULT_STATE = {"new": "new", "indeterminate": "active", "done": "done"}
CONFLUENCE_TITLE_LIMIT = 255  # characters
OFFLINE_HINT = "or run `restrat-sync check --offline` to check the config alone"


@dataclass(frozen=True)
class StatusFallback:
    name: str
    category: str
    state: str  # the flow state the category gives it


@dataclass
class JiraFindings:
    url: str
    flavor: str  # the flavour in use (forced by config, or detected)
    server_flavor: str  # what serverInfo's deploymentType says
    version: str
    user: str
    fields: FieldIds
    matches: dict[str, int] = field(default_factory=dict)  # JQL file name -> issues matched
    unmapped_statuses: list[StatusFallback] = field(default_factory=list)


@dataclass
class ConfluenceFindings:
    url: str
    space: str
    space_found: bool


@dataclass
class CheckReport:
    config: LoadedConfig
    offline: bool = False
    jira: JiraFindings | None = None
    confluence: ConfluenceFindings | None = None
    database: SchemaState | None = None
    infos: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # config errors: check exits 2


def check_offline(loaded: LoadedConfig) -> CheckReport:
    """What the config alone tells, beyond ``load_config``'s validation."""
    return CheckReport(config=loaded, offline=True, warnings=long_titles(loaded.config))


def run_check(loaded: LoadedConfig, settings: Settings, session: RetryingSession) -> CheckReport:
    """Check ``loaded`` against the services and the cache its settings name; raise on the first
    hard failure, collect the other problems in the report."""
    report = CheckReport(config=loaded, warnings=long_titles(loaded.config))
    _jira_part(report, settings, session)
    _confluence_part(report, settings, session)
    report.database = schema_state(settings.effective_database_url)
    if report.database.created_folder is not None:
        report.infos.append(f"created the folder {report.database.created_folder} for the cache")
    return report


def _jira_part(report: CheckReport, settings: Settings, session: RetryingSession) -> None:
    loaded = report.config
    url = settings.jira_url or loaded.config.jira.url
    if not url:
        report.problems.append(
            f"RESTRAT_JIRA_URL is not set (nor jira.url in {loaded.path}): set it to the "
            f"address you open Jira at, {OFFLINE_HINT}"
        )
        return
    report.jira = check_jira(loaded, url, settings, session)
    forced, served = loaded.config.jira.flavor, report.jira.server_flavor
    if forced != "auto" and served != forced:
        report.warnings.append(f"jira.flavor is {forced}, but the server is {served}")
    report.infos += cloud_field_notes(report.jira)


def _confluence_part(report: CheckReport, settings: Settings, session: RetryingSession) -> None:
    loaded = report.config
    url = settings.confluence_url or loaded.config.confluence.url
    if not url:
        report.problems.append(
            f"RESTRAT_CONFLUENCE_URL is not set (nor confluence.url in {loaded.path}): the pages "
            f"have nowhere to go; set it (https://acme.atlassian.net/wiki on Cloud), "
            f"{OFFLINE_HINT}"
        )
        return
    report.confluence = check_confluence(loaded, url, settings, session)
    if not report.confluence.space_found:
        report.problems.append(missing_space(loaded))


def long_titles(config: Config) -> list[str]:
    """A warning per page title longer than Confluence accepts: publishing it would fail."""
    return [
        f"the title of the page {page.name!r} is {len(page.title)} characters long with the "
        f"prefix, and Confluence allows {CONFLUENCE_TITLE_LIMIT}: shorten {page.fields}"
        for page in page_titles(config)
        if len(page.title) > CONFLUENCE_TITLE_LIMIT
    ]


def cloud_field_notes(jira: JiraFindings) -> list[str]:
    """Epic Link and Parent Link are Data Center fields; on Cloud their absence is normal."""
    if jira.flavor != "cloud":
        return []
    missing = [name for name, value in _link_fields(jira.fields) if value is None]
    return [
        f"no {name} field on this Jira Cloud, and none is needed: the parent field carries "
        "the whole hierarchy on Cloud"
        for name in missing
    ]


def missing_space(loaded: LoadedConfig) -> str:
    space = loaded.config.confluence.space
    return (
        f"Confluence space {space} does not exist, or this user may not see it: create it (or "
        f"grant access), or set confluence.space in {loaded.path} to an existing space's key"
    )


def check_jira(
    loaded: LoadedConfig, url: str, settings: Settings, session: RetryingSession
) -> JiraFindings:
    gateway = connect_jira(url, jira_credentials(settings), session, loaded.config.jira.flavor)
    info = gateway.server_info()
    me = gateway.myself()
    _reject_invalid_jql(gateway, list(loaded.jql.values()))
    configured = loaded.config.jira.fields
    findings = JiraFindings(
        url=url,
        flavor=gateway.flavor,
        server_flavor=flavor_of(info),
        version=str(info.get("version", "?")),
        user=str(me.get("displayName") or me.get("name") or me.get("accountId")),
        fields=discover_fields(
            gateway.fields(),
            FieldIds(configured.story_points, configured.epic_link, configured.parent_link),
        ),
    )
    findings.matches = {name: gateway.count(jql.query) for name, jql in loaded.jql.items()}
    findings.unmapped_statuses = unmapped_statuses(gateway, loaded)
    return findings


def _reject_invalid_jql(gateway: JiraGateway, files: list[JqlFile]) -> None:
    """One problem per message Jira has about a file, at the file's line and column where Jira
    gives a position."""
    verdicts = gateway.validate_jql([jql.query for jql in files])
    problems = [
        jql.problem(f"Jira rejects this JQL ({jql.used_by})", message)
        for jql, messages in zip(files, verdicts, strict=True)
        for message in messages
    ]
    if problems:
        raise JqlRejected(problems)


def unmapped_statuses(gateway: JiraGateway, loaded: LoadedConfig) -> list[StatusFallback]:
    """Jira statuses that ``status_map`` does not name: they fall back to their category."""
    mapped = {name.casefold() for name in loaded.config.status_map}
    found: dict[str, StatusFallback] = {}
    for status in gateway.statuses():
        name = str(status.get("name", ""))
        category = str((status.get("statusCategory") or {}).get("key", "new"))
        if name.casefold() not in mapped:
            state = CATEGORY_DEFAULT_STATE.get(category, "new")
            found.setdefault(name.casefold(), StatusFallback(name, category, state))
    return sorted(found.values(), key=lambda s: s.name.casefold())


def check_confluence(
    loaded: LoadedConfig, url: str, settings: Settings, session: RetryingSession
) -> ConfluenceFindings:
    gateway = connect_confluence(url, confluence_credentials(settings), session)
    space = loaded.config.confluence.space
    return ConfluenceFindings(url=url, space=space, space_found=gateway.space(space) is not None)


def format_report(report: CheckReport) -> list[str]:
    """The report as lines for a terminal."""
    config = report.config.config
    krs = sum(len(theme.key_results) for theme in config.themes)
    lines = [
        f"config {report.config.path}: OK ({len(config.themes)} themes, {krs} key results, "
        f"{len(report.config.jql)} JQL files)"
    ]
    if report.offline:
        lines.append("offline: Jira, Confluence and the cache database were not contacted")
    if report.jira is not None:
        lines += _format_jira(report.jira, report.config)
    if report.confluence is not None:
        found = "found" if report.confluence.space_found else "NOT FOUND"
        lines.append(f"confluence {report.confluence.url}: space {report.confluence.space} {found}")
    if report.database is not None:
        lines.append(_format_database(report.database))
    lines += [f"info: {info}" for info in report.infos]
    lines += [f"warning: {warning}" for warning in report.warnings]
    return lines


def _format_jira(jira: JiraFindings, loaded: LoadedConfig) -> list[str]:
    lines = [
        f"jira {jira.url}: {jira.flavor} {jira.version}, signed in as {jira.user}",
        "  fields: " + ", ".join(_field_names(jira)),
        "  JQL files (all valid):",
    ]
    for mapping in loaded.mappings():
        lines.append(
            f"    {mapping.jql.name:<28} {jira.matches.get(mapping.jql.name, 0):>6} issues  "
            f"{mapping.label}"
        )
    if jira.unmapped_statuses:
        lines.append("  statuses with no status_map entry (their category decides):")
        lines += [f"    {s.name} ({s.category} -> {s.state})" for s in jira.unmapped_statuses]
    return lines


def _field_names(jira: JiraFindings) -> list[str]:
    """The custom fields found; on Cloud a missing link field is left to an info line."""
    fields = [("story points", jira.fields.story_points), *_link_fields(jira.fields)]
    cloud = jira.flavor == "cloud"
    return [f"{name} {value or 'not found'}" for name, value in fields if value or not cloud]


def _link_fields(fields: FieldIds) -> list[tuple[str, str | None]]:
    return [("Epic Link", fields.epic_link), ("Parent Link", fields.parent_link)]


def _format_database(state: SchemaState) -> str:
    where = f"database {state.url}"
    if state.up_to_date:
        return f"{where}: schema {state.head}, up to date"
    if not state.current:
        return f"{where}: empty; the first sync creates the schema ({state.head})"
    return (
        f"{where}: schema {', '.join(state.current)}, older than this restrat-sync's "
        f"{state.head}: the next sync migrates it (or now: `restrat-sync db upgrade`)"
    )
