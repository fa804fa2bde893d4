"""The root exception of the tools layer.

Every error raised from `tools` derives from :class:`ToolsError` and carries a
message a person can act on. Vendor and library errors are translated at the
boundary with ``raise ... from err``.
"""

from __future__ import annotations


class ToolsError(Exception):
    """Base class for errors raised by the tools layer."""


class SiteConfigError(ToolsError):
    """The site file could not be read or does not describe a valid site."""


class UnknownSiteError(ToolsError):
    """A site name that is not configured."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        listing = ", ".join(known) if known else "none"
        super().__init__(f"Unknown site {name!r}. Configured sites: {listing}.")


class DeviceError(ToolsError):
    """A device did not accept or answer a command."""


class ActionError(ToolsError):
    """An action request cannot be created, decided or executed as asked."""


class DeviceUnreachable(DeviceError):
    """The device (or its gateway/broker) refused the connection or cannot be resolved."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""


class DeviceAuthError(DeviceError):
    """The device refused our credentials."""


class DeviceProtocolError(DeviceError):
    """The device answered with something we cannot use (exception code, bad payload)."""


class DeviceRefused(DeviceError):
    """The device does not support, or declined, the command."""


class ReadbackMismatch(DeviceError):
    """A write was sent but reading the value back shows something else."""
