"""The generated portfolio's fixed catalogues: projects, issue types, statuses, workflows, users.

The demo config, its JQL files and the tests name these exactly, so they are constants rather
than generated. Ids imitate Jira's: small numeric strings for system objects, 24 hex digits for
Cloud account ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from restrat_sandbox.model import (
    IssueType,
    LinkType,
    Portfolio,
    Priority,
    Project,
    Status,
    User,
    Version,
)

PORTFOLIO_PROJECT = "PORT"
PROJECTS = (
    Project("10000", "PORT", "Portfolio"),
    Project("10001", "PAY", "Payments"),
    Project("10002", "MOB", "Mobile"),
    Project("10003", "DATA", "Data Platform"),
    Project("10004", "OPS", "Operations"),
)
DELIVERY_PROJECTS = ("PAY", "MOB", "DATA", "OPS")
LOCALISED_PROJECT = "DATA"

ISSUE_TYPES = (
    IssueType("10000", "Epic", 1),
    IssueType("10001", "Story", 0),
    IssueType("10002", "Task", 0),
    IssueType("10003", "Sub-task", -1),
    IssueType("10004", "Bug", 0),
    IssueType("10005", "Initiative", 2),
)

STATUSES = (
    Status("10000", "To Do", "new"),
    Status("3", "In Progress", "indeterminate"),
    Status("10002", "In Review", "indeterminate"),
    Status("10003", "Blocked", "indeterminate"),
    Status("10001", "Done", "done"),
    Status("10004", "Won't Do", "done"),
    Status("10005", "Funnel", "new"),
    Status("10006", "Approved", "new"),
    Status("10007", "Committed", "new"),
    Status("10008", "Cancelled", "done"),
    Status("10009", "Zu erledigen", "new"),
    Status("10010", "In Arbeit", "indeterminate"),
    Status("10011", "In Prüfung", "indeterminate"),
    Status("10012", "Fertig", "done"),
)
STATUS_IDS = {status.name: status.id for status in STATUSES}

PRIORITIES = tuple(
    Priority(str(n), name)
    for n, name in enumerate(("Highest", "High", "Medium", "Low", "Lowest"), 1)
)
PRIORITY_IDS = {priority.name: priority.id for priority in PRIORITIES}

LINK_TYPES = (
    LinkType("10000", "Blocks", "is blocked by", "blocks"),
    LinkType("10003", "Relates", "relates to", "relates to"),
    LinkType("10006", "Implements", "is implemented by", "implements"),
)

# Jira Software's Rank field; Cloud sites share this id. Re-ranking fills real changelogs.
RANK_FIELD_ID = "customfield_10019"

THEMES = ("theme-growth", "theme-reliability", "theme-experience", "theme-compliance")

# Epic labels per delivery project; repeats make a label more common there.
EPIC_LABELS = {
    "PAY": ("checkout", "checkout", "checkout", "billing", "performance", "gdpr"),
    "MOB": ("onboarding", "onboarding", "search", "notifications", "accessibility", "performance"),
    "DATA": ("gdpr", "search", "performance", "api", "observability"),
    "OPS": ("observability", "observability", "observability", "performance", "gdpr"),
}
EPIC_LABEL_VOCABULARY = ("checkout", "onboarding", "observability", "gdpr", "search", "performance")
# Feature labels dilute the classification ones so most items stay "feature".
WORK_LABELS = ("tech-debt", "debt", "security", "risk", "compliance", "frontend", "backend", "api")

# Summaries: realistic-ish text, plus the hostile strings every size must contain.
INITIATIVE_NAMES = {
    "theme-growth": (
        "Cross-border payments",
        "Partner marketplace",
        "Subscription billing",
        "Referral programme",
        "B2B self-serve",
        "Expand into the Nordics",
    ),
    "theme-reliability": (
        "99.95% availability",
        "Zero-downtime deploys",
        "Incident response overhaul",
        "Database resilience",
        "Observability platform",
        "Capacity planning",
    ),
    "theme-experience": (
        "Frictionless onboarding",
        "Unified search",
        "Mobile app redesign",
        "Accessibility AA",
        "Personalised home",
        "Faster checkout UX",
    ),
    "theme-compliance": (
        "GDPR data subject rights",
        "PCI DSS 4.0",
        "SOC 2 Type II",
        "Data retention policy",
        "Audit trail",
        "EU AI Act readiness",
    ),
}
TOPICS = {
    "PAY": (
        "card tokenisation", "refund flow", "3-D Secure challenge", "payout report",
        "currency conversion", "invoice PDF", "webhook retries", "saved cards", "SEPA mandates",
        "chargeback handling",
    ),
    "MOB": (
        "login screen", "push notifications", "offline mode", "deep links", "dark mode",
        "app start time", "biometric unlock", "search results", "onboarding carousel",
        "settings page",
    ),
    "DATA": (
        "event ingestion", "customer 360 table", "dbt models", "retention job", "PII masking",
        "warehouse costs", "lineage graph", "Kafka consumers", "backfill tooling", "search index",
    ),
    "OPS": (
        "alert routing", "Kubernetes upgrade", "backup restore drill", "SLO dashboards",
        "log retention", "on-call rota", "TLS certificates", "CDN config", "runbooks",
        "cost reports",
    ),
}  # fmt: skip
VERBS = (
    "Add", "Support", "Improve", "Refactor", "Migrate", "Validate", "Expose", "Document",
    "Simplify", "Speed up", "Harden", "Clean up",
)  # fmt: skip
BUG_CONDITIONS = (
    "the session expires", "the amount is zero", "the locale is de-DE", "two tabs are open",
    "the network drops", "the user has no email", "daylight saving time starts",
)  # fmt: skip
SUBTASK_SUMMARIES = (
    "Write tests", "Update API docs", "Code review fixes", "Add metrics", "Feature flag",
    "QA on staging", "Translate strings", "Load test",
)  # fmt: skip
DESCRIPTIONS = (
    "h3. Context\nAgreed in refinement; see the linked epic.",
    "h3. Acceptance criteria\n* works on staging\n* documented in the runbook",
    "Steps to reproduce:\n# open the page\n# wait\n# see the error",
    "Needs a decision from the product owner before we start.",
    "Out of scope: the legacy API.",
)
ADVERSARIAL_SUMMARIES = (
    "<script>alert(1)</script>",
    "Fix ]]> in CDATA",
    "R&D &amp; \"quotes\" 'single'",
    "Ship it 🚀🎉 with ünïcödé",
    "תיקון באג בתשלום / إصلاح خطأ الدفع",
    "Bell \x07 in the summary",
)


@dataclass(frozen=True, slots=True)
class Workflow:
    """The status names one kind of issue moves through; localised per project on purpose."""

    todo: str
    doing: str
    review: str
    blocked: str
    done: str
    cancelled: str


WORK_FLOW = Workflow("To Do", "In Progress", "In Review", "Blocked", "Done", "Won't Do")
# A partly translated instance: the team renamed its own statuses but shares Blocked/Won't Do.
LOCALISED_FLOW = Workflow(
    "Zu erledigen", "In Arbeit", "In Prüfung", "Blocked", "Fertig", "Won't Do"
)
# Initiatives and epics: Funnel -> Approved/Committed (the portfolio decisions) -> In Progress.
FUNNEL, APPROVED, COMMITTED = "Funnel", "Approved", "Committed"
IN_PROGRESS, DONE, CANCELLED = "In Progress", "Done", "Cancelled"

# Jira's default resolutions (id, name), set by the workflow when work reaches "done". The
# model keeps no resolution catalogue; only these two are used.
DONE_RESOLUTION = ("10000", "Done")
WONT_DO_RESOLUTION = ("10001", "Won't Do")
# Done statuses meaning the work was dropped rather than finished.
CANCELLING_STATUSES = frozenset({"Won't Do", CANCELLED})


def resolution_for(status: str) -> tuple[str, str]:
    """The resolution a done status sets: "Won't Do" for the cancelling ones, else "Done"."""
    return WONT_DO_RESOLUTION if status in CANCELLING_STATUSES else DONE_RESOLUTION


def work_flow(project: str) -> Workflow:
    """The workflow of level-0 items and sub-tasks in ``project``."""
    return LOCALISED_FLOW if project == LOCALISED_PROJECT else WORK_FLOW


_PEOPLE = (
    ("akowalski", "Anna Kowalski", "Europe/Warsaw"),
    ("bokafor", "Bola Okafor", "Africa/Lagos"),
    ("cmendes", "Carla Mendes", "America/Sao_Paulo"),
    ("dnguyen", "Duc Nguyen", "Asia/Ho_Chi_Minh"),
    ("eschmidt", "Eva Schmidt", "Europe/Berlin"),
    ("fhassan", "Farah Hassan", "Asia/Dubai"),
    ("gtanaka", "Gen Tanaka", "Asia/Tokyo"),
    ("hbrown", "Harper Brown", "America/New_York"),
    ("ipatel", "Isha Patel", "Asia/Kolkata"),
    ("jlevi", "Jonathan Levi", "Asia/Jerusalem"),
    ("kobrien", "Kate O'Brien", "Europe/Dublin"),
    ("lchen", "Li Chen", "Australia/Sydney"),
    ("mgarcia", "Mateo García", "America/Los_Angeles"),
    ("nsmith", "Noah Smith", "UTC"),
)
SANDBOX_USER = User("sandbox", "sandbox", "Sandbox Admin", "sandbox@example.com", "Europe/Berlin")


def users(count: int) -> list[User]:
    """The sandbox caller first, then ``count - 1`` people with stable Cloud-style account ids."""
    people = [
        User(
            hashlib.sha256(name.encode()).hexdigest()[:24],
            name,
            display,
            f"{name}@example.com",
            zone,
        )
        for name, display, zone in _PEOPLE[: count - 1]
    ]
    return [SANDBOX_USER, *people]


def monthly_versions(project: str, start: datetime, now: datetime, first_id: int) -> list[Version]:
    """One release a month ("PAY 2026.3") from ``start`` to two months after ``now``."""
    versions: list[Version] = []
    year, month = start.year, start.month
    today = now.date()
    while (year, month) <= _add_months(today.year, today.month, 2):
        release = date(year, month, 28)
        name = f"{project} {year}.{month}"
        versions.append(
            Version(str(first_id + len(versions)), name, project, release < today, release)
        )
        year, month = _add_months(year, month, 1)
    return versions


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def install(portfolio: Portfolio, user_count: int) -> None:
    """Fill the portfolio's fixed catalogues (versions depend on the window, see generator)."""
    portfolio.projects.update((p.key, p) for p in PROJECTS)
    portfolio.issue_types.update((t.name, t) for t in ISSUE_TYPES)
    portfolio.statuses.update((s.name, s) for s in STATUSES)
    portfolio.priorities.update((p.name, p) for p in PRIORITIES)
    portfolio.link_types.update((t.name, t) for t in LINK_TYPES)
    portfolio.users.update((u.account_id, u) for u in users(user_count))
