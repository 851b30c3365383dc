"""Staff pages for roaming, split like the models (partners; network; sync)."""

from . import (
    network,  # noqa: F401,E402
    partners,  # noqa: F401
)
