"""pool_engine is a pure core: importing it pulls in no I/O or analysis library."""

import subprocess
import sys

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
