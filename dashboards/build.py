"""Write the dashboards as JSON: ``python -m dashboards.build [--check]``.

The JSON is what Grafana provisions (dashboards/provisioning/eni-pool.yaml) or what
one imports by hand; it is generated, so edit the Python and run this again.
``--check`` exits 1, naming the stale files, when the committed JSON differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import node, overview, schedule, tuner

HERE = Path(__file__).resolve().parent
BUILDERS: dict[str, Callable[[], Dashboard]] = {
    "eni-pool-overview.json": overview.build,
    "eni-pool-node.json": node.build,
    "eni-pool-tuner.json": tuner.build,
    "eni-pool-schedule.json": schedule.build,
}


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    out = {}
    for name, build in BUILDERS.items():
        model = json.loads(JSONEncoder().encode(build().build()))
        _number_panels(model)
        out[name] = json.dumps(model, indent=2, sort_keys=True) + "\n"
    return out


def _number_panels(model: dict[str, object]) -> None:
    """Unique panel ids (1, 2, ...) in layout order: Grafana links to panels by id."""
    panels = model.get("panels")
    assert isinstance(panels, list)
    for number, panel in enumerate(panels, start=1):
        panel["id"] = number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale: {', '.join(stale)}; run python -m dashboards.build", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
