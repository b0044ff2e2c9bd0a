"""The router's own error: a setting (pin, context, profile) that cannot work on this machine."""

from __future__ import annotations

from service.core.errors import ConfigError


class RouterConfigError(ConfigError):
    """An operator's choice the router cannot honour (an unknown model or quant in a pin, a GPU pin
    on a machine without one); `embedroute serve`, `route` and `pull` print it and exit 2."""


__all__ = ["RouterConfigError"]
