"""pool_engine is a pure core: importing it pulls in no I/O or analysis library."""

import re
import subprocess
import sys
from pathlib import Path

FORBIDDEN = (
    "kubernetes",
    "prometheus_client",
    "prometheus_api_client",
    "pandas",
    "sklearn",
    "click",
)


def test_pool_engine_imports_no_io_or_analysis_library() -> None:
    code = (
        "import sys, pkgutil, importlib, pool_engine\n"
        "for m in pkgutil.walk_packages(pool_engine.__path__, 'pool_engine.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(','.join(n for n in {FORBIDDEN!r} if n in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"pool_engine imported: {out.stdout.strip()}"


def test_the_command_lines_and_kube_adapter_load_without_the_kubernetes_client() -> None:
    """kube_adapter imports ``kubernetes`` inside its functions: `eni-exporter --help`
    and a bad flag do not pay for loading the client."""
    code = (
        "import sys, pkgutil, importlib, exporter.cli, kube_adapter, exporter, tuner.apply\n"
        "for package in (kube_adapter, exporter):\n"
        "    for m in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "print(','.join(sorted(n for n in sys.modules if n.split('.')[0] == 'kubernetes')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"kubernetes imported: {out.stdout.strip()[:200]}"
    subprocess.run(
        [sys.executable, "-c", 'import exporter.cli, sys; assert "kubernetes" not in sys.modules'],
        check=True,
    )


HEAVY = ("sklearn", "matplotlib", "numba", "kubernetes", "pandas", "prometheus_api_client", "scipy",
         "pyarrow")  # fmt: skip


def test_the_command_lines_import_no_heavy_library() -> None:
    """`eni-tuner --help` and `eni-exporter --help` stay instant: importing either
    command line (and rendering its help) loads no analysis, plotting, compiler,
    Kubernetes or Prometheus-client library; each loads where a command needs it."""
    code = (
        "import sys, click, exporter.cli, tuner.cli\n"
        "for group in (exporter.cli.cli, tuner.cli.cli):\n"
        "    for name, command in [('', group), *group.commands.items()]:\n"
        "        with click.Context(command, info_name=name or 'cli') as ctx:\n"
        "            command.get_help(ctx)\n"
        f"print(','.join(sorted({{n.split('.')[0] for n in sys.modules}} & set({HEAVY!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"the command lines imported: {out.stdout.strip()}"


def test_a_replay_loads_numba_where_it_runs() -> None:
    """The laziness is not a loss: the first replay loads the compiled kernel, and
    the policy it inlines is the same as the live engine's (compiled copies)."""
    code = (
        "import sys\n"
        "from pool_engine.simulator import simulate\n"
        "from pool_engine.trace import from_rows\n"
        "assert 'numba' not in sys.modules\n"
        "result = simulate(from_rows([0.0, 5.0], ['n', 'n'], ['start', 'stop']))\n"
        "from pool_engine import kernel, policy\n"
        "assert kernel.binds_to_request.py_func is policy.binds_to_request\n"
        "print(result.total['pod_starts'], 'numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "True"]


def test_simulate_loads_only_what_a_replay_needs(tmp_path: Path) -> None:
    """`eni-tuner simulate` reads the trace with pyarrow and replays it with numba;
    pandas (which pyarrow's own conversions import), scikit-learn, matplotlib and the
    Kubernetes and Prometheus clients stay out of it."""
    trace = tmp_path / "t.csv"
    trace.write_text("time,node,event\n0,a,start\n1.5,a,stop\n3,b,start\n")
    code = (
        "import sys\n"
        "from tuner.cli import main\n"
        f"sys.argv = ['eni-tuner', 'simulate', {str(trace)!r}, '-o', 'json']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code\n"
        "heavy = {'pandas', 'sklearn', 'matplotlib', 'kubernetes', 'prometheus_api_client'}\n"
        "print('heavy:', *sorted(heavy & {n.split('.')[0] for n in sys.modules}), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert '"pod_starts": 2' in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "heavy:", out.stderr


def test_code_cites_the_projects_own_contracts_not_an_outside_spec() -> None:
    """Comments and docstrings point into docs/contracts/, which ships with the code;
    "SPEC section N" names a document outside the repository."""
    root = Path(__file__).resolve().parents[2]
    cited = [
        f"{path.relative_to(root)}:{n}"
        for package in ("pool_engine", "kube_adapter", "exporter", "tuner", "dashboards", "bench")
        for path in sorted((root / package).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bSPEC\b(?! *[_A-Z])", line)
    ]
    assert cited == []
