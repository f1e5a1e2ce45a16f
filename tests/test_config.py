"""The config model: every validation rule, with the message an admin sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from restrat_sync.config import UNALIGNED, load_config, quarter_of
from restrat_sync.errors import ConfigError
from restrat_sync.jql_files import strip_jql_comments


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def errors_of(config_dir: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir / "config" / "restrat.yaml")
    return str(caught.value)


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(needle)


def test_repository_config_is_valid(config_dir: Path) -> None:
    """The shipped example config loads, with every JQL file read and comments removed."""
    loaded = load_config(config_dir / "config" / "restrat.yaml")
    assert [t.key for t in loaded.config.themes] == [
        "GROWTH",
        "RELIABILITY",
        "EXPERIENCE",
        "COMPLIANCE",
    ]
    growth = loaded.theme_jql(loaded.config.themes[0])
    assert growth.query == "project = PORT AND issuetype = Initiative AND labels = theme-growth"
    assert [m.key for m in loaded.mappings()][-1] == "scope"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    target: 0.35\n",
            "    target: 0.30\n",
            "themes: themes' targets plus unaligned_target sum to 0.950 in 2026-Q1, not 1",
        ),
        (
            "      2026-Q3: 0.15\n    key_results:\n      - name: Open",
            "      2026-Q3: 0.10\n    key_results:\n      - name: Open",
            "sum to 0.950 in 2026-Q3, not 1",
        ),
        ("  Blocked: waiting", "  Blocked: paused", "status_map.Blocked: Input should be 'new',"),
        ("timezone: Europe/Berlin", "timezone: Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ('  weekly: "0 7 * * mon"', '  weekly: "every monday"', "schedule.weekly: 'every monday'"),
        ("  measure: active_days", "  measure: hours", "effort.measure: Input should be"),
        ("    target: 0.35\n", "    target: lots\n", "themes[0].target: a target is a number"),
        ("    target: 0.35\n", "    target: 1.35\n", "themes[0].target: a target is a share"),
        ("      2026-Q1: 0.20", "      2026-Q5: 0.20", "'2026-Q5' is not a quarter like 2026-Q4"),
        ("  - key: GROWTH", "  - key: growth", "themes[0].key: must be upper case"),
        ("  - key: RELIABILITY", "  - key: GROWTH", "theme keys must be unique; repeated: GROWTH"),
        ("flavor: auto", "flavour: auto", "jira.flavour: unknown key"),
        ("flavor: auto", "flavor: server", "jira.flavor: Input should be 'auto'"),
        ("  alert_days: 14", "  alert_days: 0", "decision.alert_days: Input should be greater"),
        ("        measure: count", "        measure: sum", "key_results[0].measure: Input should"),
        (
            "  initiative_level: null",
            "  initiative_level: 0",
            "hierarchy: initiative_level (0) must be above flow_level (0)",
        ),
    ],
)
def test_invalid_config_is_rejected_with_path_and_line(
    config_dir: Path, old: str, new: str, expected: str
) -> None:
    """Each rule's violation names the file, the line and the field path."""
    path = config_dir / "config" / "restrat.yaml"
    replace(path, old, new)
    message = errors_of(config_dir)
    assert expected in message
    assert message.startswith(f"{path}:")


def test_error_names_the_line_of_the_offending_key(config_dir: Path) -> None:
    """The line number points at the key that is wrong, not at the top of the file."""
    path = config_dir / "config" / "restrat.yaml"
    replace(path, "  measure: active_days", "  measure: hours")
    assert f"{path}:{line_of(path, 'measure: hours')}: effort.measure:" in errors_of(config_dir)


def test_missing_jql_file_is_named_with_the_field_that_uses_it(config_dir: Path) -> None:
    """A JQL file that does not exist is reported with its path and the config field."""
    (config_dir / "jql" / "theme-growth.jql").unlink()
    message = errors_of(config_dir)
    assert f"JQL file {config_dir / 'jql' / 'theme-growth.jql'} does not exist" in message
    assert "themes[0].jql" in message


def test_comment_only_jql_file_is_rejected(config_dir: Path) -> None:
    """A JQL file holding only comments is as good as empty."""
    (config_dir / "jql" / "scope.jql").write_text("-- nothing yet\n\n", encoding="utf-8")
    assert "holds no query" in errors_of(config_dir)


def test_jql_file_outside_the_jql_folder_is_rejected(config_dir: Path) -> None:
    """A JQL name may not climb out of jql_dir."""
    replace(config_dir / "config" / "restrat.yaml", "jql: theme-growth.jql", "jql: ../x.jql")
    assert "must be a file name inside" in errors_of(config_dir)


def test_every_problem_is_reported_at_once(config_dir: Path) -> None:
    """Two independent mistakes give two messages, so an admin fixes both in one go."""
    path = config_dir / "config" / "restrat.yaml"
    replace(path, "timezone: Europe/Berlin", "timezone: Nowhere/Land")
    replace(path, "  measure: active_days", "  measure: hours")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert len(caught.value.problems) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{{", "not valid YAML"),
        ("- just\n- a list\n", "the config must be a mapping"),
    ],
)
def test_unparseable_yaml_is_reported_with_a_line(tmp_path: Path, text: str, expected: str) -> None:
    """Broken YAML gives the file, a line and the parser's complaint."""
    path = tmp_path / "restrat.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:1:")


def test_missing_config_file_says_how_to_make_one(tmp_path: Path) -> None:
    """A config path that does not exist points the user at RESTRAT_CONFIG and init."""
    with pytest.raises(ConfigError, match="restrat-sync init"):
        load_config(tmp_path / "nope.yaml")


def test_per_quarter_targets_apply_the_latest_quarter_at_or_before(config_dir: Path) -> None:
    """A mapping target uses the latest quarter at or before the period, and its first
    quarter's value before that."""
    config = load_config(config_dir / "config" / "restrat.yaml").config
    assert config.planned_shares("2025-Q4")["EXPERIENCE"] == 0.20
    assert config.planned_shares("2026-Q2")["EXPERIENCE"] == 0.20
    assert config.planned_shares("2026-Q3")["EXPERIENCE"] == 0.15
    assert config.planned_shares("2027-Q1")["COMPLIANCE"] == 0.15
    assert config.planned_shares("2026-Q4")[UNALIGNED] == 0.10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("project = PAY -- the payments team\n", "project = PAY"),
        ('summary ~ "a -- b" -- trailing\n', 'summary ~ "a -- b"'),
        ("-- only\nlabels = x\n  AND status = Done", "labels = x AND status = Done"),
        ("summary ~ 'it\\'s -- fine'", "summary ~ 'it\\'s -- fine'"),
    ],
)
def test_jql_comments_are_stripped_outside_quotes(text: str, expected: str) -> None:
    """`--` starts a comment, except inside a quoted string."""
    assert strip_jql_comments(text) == expected


def test_quarter_of_a_date() -> None:
    """Quarters are calendar quarters."""
    from datetime import date

    assert quarter_of(date(2026, 11, 22)) == "2026-Q4"
    assert quarter_of(date(2026, 1, 1)) == "2026-Q1"


@pytest.mark.parametrize(
    ("field", "old", "new", "expected"),
    [
        ("sync", '  sync: "*/15 * * * *"', '  sync: "every 5s"', "'every 5s' is too often"),
        ("sync", '  sync: "*/15 * * * *"', '  sync: "every week"', "is not an interval: write"),
        ("sync", '  sync: "*/15 * * * *"', '  sync: "hourly"', "'hourly' is not a cron"),
        ("weekly", '  weekly: "0 7 * * mon"', '  weekly: "0 7 * * 1"', "name the days of the"),
        ("weekly", '  weekly: "0 7 * * mon"', '  weekly: "every 7h"', "only schedule.sync may"),
        ("monthly", '  monthly: "0 7 1 * *"', '  monthly: "0 7 31 2 *"', "never fires in Europe"),
        (
            "misfire_grace_seconds",
            "  misfire_grace_seconds: 300",
            "  misfire_grace_seconds: 0",
            "Input should be greater than or equal to 1",
        ),
    ],
)
def test_invalid_schedule_is_rejected_naming_the_field_and_its_line(
    config_dir: Path, field: str, old: str, new: str, expected: str
) -> None:
    """Each schedule rule's violation names the file, the line of the field, and the field."""
    path = config_dir / "config" / "restrat.yaml"
    replace(path, old, new)
    line = line_of(path, new)
    assert f"{path}:{line}: schedule.{field}: " in errors_of(config_dir)
    assert expected in errors_of(config_dir)


def test_schedule_accepts_an_interval_sync(config_dir: Path) -> None:
    """An interval such as "every 30s" is a valid sync schedule; the misfire grace is 300 s."""
    path = config_dir / "config" / "restrat.yaml"
    replace(path, '  sync: "*/15 * * * *"', '  sync: "every 30s"')
    schedule = load_config(path).config.schedule
    assert (schedule.sync, schedule.misfire_grace_seconds) == ("every 30s", 300)
