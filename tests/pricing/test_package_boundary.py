"""The engine stays free of Django so it can be tested and benchmarked alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_it_imports_the_engine_without_django() -> None:
    code = ("import sys, roaming.pricing, roaming.pricing.parse; "
            "sys.exit(any(name.split('.')[0] == 'django' for name in sys.modules))")
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False, timeout=60).returncode == 0
