"""The rules file with another runbook base, or wrapped in a PrometheusRule:
``python -m dashboards.prometheus_rule [--runbook-base URL] [--kind rules|prometheusrule]``.

Every alert's ``runbook_url`` in dashboards/rules/eni-pool.rules.yaml is absolute, on
:data:`DEFAULT_RUNBOOK_BASE` (docs/operations.md on the project's GitHub). Where the
runbooks are served elsewhere (a fork, an internal wiki), render a copy with that base
and load it instead; nothing else changes. ``python -m dashboards.build`` writes the
default PrometheusRule into deploy/components/prometheus-rule/, so the packaged rules
never drift from the file (``--check`` and tests/unit/test_deploy_files.py say when
they do).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

RULES = Path(__file__).resolve().parent / "rules" / "eni-pool.rules.yaml"
DEFAULT_RUNBOOK_BASE = "https://github.com/eni-pool/eni-pool/blob/main/docs/operations.md"
"""Where the runbooks are: each alert's section of docs/operations.md, by anchor."""


def groups(runbook_base: str = DEFAULT_RUNBOOK_BASE) -> list[dict[str, Any]]:
    """The rule groups, every ``runbook_url`` on ``runbook_base``."""
    loaded: list[dict[str, Any]] = yaml.safe_load(RULES.read_text())["groups"]
    for group in loaded:
        for rule in group["rules"]:
            notes = rule.get("annotations", {})
            if "runbook_url" in notes:
                page, anchor = notes["runbook_url"].split("#", 1)
                assert page == DEFAULT_RUNBOOK_BASE, f"{rule['alert']}: {page}"
                notes["runbook_url"] = f"{runbook_base.rstrip('#')}#{anchor}"
    return loaded


def rules_file(runbook_base: str = DEFAULT_RUNBOOK_BASE) -> str:
    """A Prometheus rule file (``rule_files:``)."""
    return _dump({"groups": groups(runbook_base)})


def prometheus_rule(runbook_base: str = DEFAULT_RUNBOOK_BASE) -> str:
    """The Prometheus Operator's object: the groups under ``spec``."""
    return _dump(
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {
                "name": "eni-pool",
                "namespace": "eni-pool",
                "labels": {
                    "app.kubernetes.io/name": "eni-pool",
                    "app.kubernetes.io/component": "rules",
                },
            },
            "spec": {"groups": groups(runbook_base)},
        }
    )


class _Literal(yaml.SafeDumper):  # type: ignore[misc]  # yaml is untyped here
    """Multi-line strings (the expressions) as ``|`` blocks."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Literal.add_representer(str, _string)


def _dump(document: dict[str, Any]) -> str:
    header = (
        "# Generated from dashboards/rules/eni-pool.rules.yaml by dashboards/prometheus_rule.py:\n"
        "# edit the rules file, then run python -m dashboards.build.\n"
    )
    body: str = yaml.dump(document, Dumper=_Literal, sort_keys=False, width=1000)
    return header + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runbook-base",
        default=DEFAULT_RUNBOOK_BASE,
        help=f"where docs/operations.md is served (default {DEFAULT_RUNBOOK_BASE})",
    )
    parser.add_argument(
        "--kind",
        choices=("rules", "prometheusrule"),
        default="prometheusrule",
        help="a rule file for rule_files, or a PrometheusRule (default)",
    )
    args = parser.parse_args(argv)
    if not args.runbook_base.startswith(("https://", "http://")):
        parser.error(f"--runbook-base must be an absolute http(s) URL, not {args.runbook_base!r}")
    render = rules_file if args.kind == "rules" else prometheus_rule
    sys.stdout.write(render(args.runbook_base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
