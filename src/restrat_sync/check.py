"""``restrat-sync check``: validate the config offline, then against Jira and Confluence.

The offline part is ``config.load_config``. With URLs set, this module also checks connectivity
and credentials, detects the Jira flavour, has Jira validate every JQL file, counts what each
one matches, discovers the custom fields and lists statuses with no explicit flow-state mapping.
Every rejected JQL file is reported at once, as a ConfigError naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from restrat_sync.config import LoadedConfig
from restrat_sync.confluence import connect_confluence
from restrat_sync.errors import JqlRejected
from restrat_sync.http import RetryingSession
from restrat_sync.jira import FieldIds, JiraGateway, connect_jira, discover_fields, flavor_of
from restrat_sync.jql_files import JqlFile
from restrat_sync.settings import Settings, confluence_credentials, jira_credentials

CATEGORY_DEFAULT_STATE = {"new": "new", "indeterminate": "active", "done": "done"}


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
    jira: JiraFindings | None = None
    confluence: ConfluenceFindings | None = None
    warnings: list[str] = field(default_factory=list)


def run_check(loaded: LoadedConfig, settings: Settings, session: RetryingSession) -> CheckReport:
    """Check ``loaded`` against the services its settings name; raise on the first hard
    failure."""
    report = CheckReport(config=loaded)
    jira_url = settings.jira_url or loaded.config.jira.url
    if jira_url:
        report.jira = check_jira(loaded, jira_url, settings, session)
        forced, served = loaded.config.jira.flavor, report.jira.server_flavor
        if forced != "auto" and served != forced:
            report.warnings.append(f"jira.flavor is {forced}, but the server is {served}")
    confluence_url = settings.confluence_url or loaded.config.confluence.url
    if confluence_url:
        report.confluence = check_confluence(loaded, confluence_url, settings, session)
        if not report.confluence.space_found:
            report.warnings.append(
                f"Confluence space {loaded.config.confluence.space} does not exist or is not "
                "visible to this user"
            )
    return report


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
    if report.jira is None:
        lines.append("jira: no URL set (RESTRAT_JIRA_URL); checked offline only")
    else:
        lines += _format_jira(report.jira, report.config)
    if report.confluence is not None:
        found = "found" if report.confluence.space_found else "NOT FOUND"
        lines.append(f"confluence {report.confluence.url}: space {report.confluence.space} {found}")
    lines += [f"warning: {warning}" for warning in report.warnings]
    return lines


def _format_jira(jira: JiraFindings, loaded: LoadedConfig) -> list[str]:
    lines = [
        f"jira {jira.url}: {jira.flavor} {jira.version}, signed in as {jira.user}",
        "  fields: "
        + ", ".join(
            f"{name} {value or 'not found'}"
            for name, value in (
                ("story points", jira.fields.story_points),
                ("Epic Link", jira.fields.epic_link),
                ("Parent Link", jira.fields.parent_link),
            )
        ),
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
