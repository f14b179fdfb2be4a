"""The apply hint under each pool's table names that pool: `eni-tuner apply` without
--mode reads the route-eni pool, so under the direct-eni table of `recommend --trace`
(every pool of the trace, since session 9) the hint must say `--mode direct-eni`.
Found by an adversarial review (session 9): both tables said `eni-tuner apply`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from support.traces import quiet
from tuner.cli import cli


def mixed(tmp_path: Path) -> Path:
    """'calm' on route-eni; 'eni' on direct-eni, 8 pods at once every hour for two
    days: more than its 1/1 default holds."""
    rows = [(t, n, e, "route-eni") for t, n, e in quiet("calm")]
    for h in range(48):
        t = 3600.0 * h + 100.0
        rows += [(t, "eni", "start", "direct-eni"), (t + 900.0, "eni", "stop", "direct-eni")] * 8
    rows.sort(key=lambda r: r[0])
    path = tmp_path / "mixed.csv"
    path.write_text("time,node,event,mode\n" + "".join(f"{t:.3f},{n},{e},{m}\n"
                                                       for t, n, e, m in rows))  # fmt: skip
    return path


def test_each_pools_apply_hint_names_its_pool(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(mixed(tmp_path))])
    assert result.exit_code == 0, result.output
    route, direct = result.stdout.split("\n\nWarm-pool recommendations")
    assert "direct-eni" in direct.splitlines()[0]
    assert "# apply with `eni-tuner apply --mode direct-eni`, or by hand (1 node(s)):" in direct
    assert "tke.cloud.tencent.com/direct-eni-min-warm-target=" in direct
    assert "--mode" not in route
