"""Where the shared OCPI material lives: `shared/` sits beside the repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[3] / "shared"
EXAMPLES = SHARED / "ocpi-examples" / "2.2.1-d2" / "examples"
REAL_FEEDS = SHARED / "real-feeds"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
