"""Configuration errors: a setting that cannot work, found at start-up.

`ConfigError` is the base every layer raises for a bad setting (the service's settings, the
router's pins and profiles); it lives here, in the router, so that the router needs nothing of
the service, which imports it from here."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting that cannot work, found at start-up; the message names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class RouterConfigError(ConfigError):
    """An operator's choice the router cannot honour (an unknown model or quant in a pin, a GPU pin
    on a machine without one); `embedroute serve`, `route` and `pull` print it and exit 2."""


__all__ = ["ConfigError", "RouterConfigError"]
