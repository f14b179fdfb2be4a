"""dashboards/rules: promtool accepts the rules and passes their unit tests; every
alert carries summary, description, runbook and an absolute runbook_url (on the
documented default base) whose anchor exists in docs/operations.md, and has unit
tests where it fires and where it stays quiet."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import Path

import yaml

from dashboards.prometheus_rule import DEFAULT_RUNBOOK_BASE
from support.dashboard_queries import REPO, RULES, alerting_rules
from support.prom import require

RULE_TESTS = sorted((RULES.parent / "tests").glob("*.yaml"))
OPERATIONS = REPO / "docs" / "operations.md"


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require("promtool"), *map(str, args)], capture_output=True, text=True, check=False
    )


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    assert RULE_TESTS
    result = promtool("test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    """The unit tests can fail: the same cases with one expected label changed do."""
    text = (RULES.parent / "tests" / "alerts.test.yaml").read_text()
    broken = tmp_path / "alerts.test.yaml"
    broken.write_text(
        text.replace("- ../eni-pool.rules.yaml", f"- {RULES}").replace("node: n1,", "node: n9,", 1)
    )
    assert promtool("test", "rules", broken).returncode != 0


def test_every_alert_has_annotations_and_a_runbook_section() -> None:
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", OPERATIONS.read_text(), re.M)}
    for rule in alerting_rules():
        notes = rule["annotations"]
        assert {"summary", "description", "runbook", "runbook_url"} <= set(notes), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        page, _, anchor = notes["runbook_url"].partition("#")
        assert page == DEFAULT_RUNBOOK_BASE, f"{rule['alert']}: {page}"  # absolute
        assert anchor in anchors, f"{rule['alert']}: {anchor}"


def test_every_alert_is_tested_firing_and_quiet() -> None:
    cases: dict[str, set[bool]] = defaultdict(set)
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                cases[case["alertname"]].add(bool(case.get("exp_alerts")))
    for rule in alerting_rules():
        assert cases[rule["alert"]] == {True, False}, f"{rule['alert']}: {cases[rule['alert']]}"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
