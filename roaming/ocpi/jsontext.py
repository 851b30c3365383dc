"""Reading JSON text from partners: every way the parser can refuse a text is a decode error.

Python's `json.loads` fails in two more ways than malformed text, and neither is a
`JSONDecodeError`: arrays or objects nested deeper than the interpreter's stack allows raise
`RecursionError`, and an integer of more than 4,300 digits raises a plain `ValueError`. A
partner can send either (a hostile body, a broken serialiser); they must be answered like any
other unreadable body, not crash the request or the sync.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class JsonLimitError(json.JSONDecodeError):
    """Well-formed JSON beyond what we read: nesting too deep, or an integer too long."""


def load_json(
    text: str, *, parse_constant: Callable[[str], Any] | None = None, parse_float: Callable[[str], Any] | None = None
) -> Any:
    """`json.loads(text)`; raises `json.JSONDecodeError` for anything it cannot read."""
    try:
        return json.loads(text, parse_constant=parse_constant, parse_float=parse_float)
    except RecursionError:
        raise JsonLimitError("arrays or objects nested too deeply to read", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion…"
        raise JsonLimitError(f"a number too long to read ({str(exc).split(';')[0]})", text, 0) from None
