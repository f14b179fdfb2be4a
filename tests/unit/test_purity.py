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
