"""The configured channels: which one a project's SMS or email goes through, and opening them."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from dialer.config_channels import ChannelSettings, HttpGatewaySettings, Medium, SmscSettings
from dialer.errors import Rejected
from sms_email.gateway import Gateway
from sms_email.http_gateway import HttpGateway
from sms_email.smsc import SmscGateway
from sms_email.smtp import SmtpGateway


def channel_for(channels: Mapping[str, ChannelSettings], project: str, medium: Medium) -> str:
    """The channel a ``medium`` message of ``project`` goes through: one that names the project,
    else one serving every project (by name, for a stable choice). :class:`Rejected` when none."""
    named = sorted(n for n, c in channels.items() if c.medium == medium and project in c.projects)
    if named:
        return named[0]
    everyone = sorted(n for n, c in channels.items() if c.medium == medium and not c.projects)
    if everyone:
        return everyone[0]
    what = "SMS" if medium == "sms" else "email"
    raise Rejected(
        f"no {what} channel serves project {project!r}; add a [channels.NAME] section to config.toml "
        f"(kind = {'smsc or http' if medium == 'sms' else 'smtp'}) with projects = [{project!r}] or none"
    )


def open_gateways(
    channels: Mapping[str, ChannelSettings], session: aiohttp.ClientSession
) -> dict[str, Gateway]:
    """One gateway per configured channel (HTTP ones share ``session``)."""
    gateways: dict[str, Gateway] = {}
    for name, settings in channels.items():
        if isinstance(settings, SmscSettings):
            gateways[name] = SmscGateway(name, settings, session)
        elif isinstance(settings, HttpGatewaySettings):
            gateways[name] = HttpGateway(name, settings, session)
        else:
            gateways[name] = SmtpGateway(name, settings)
    return gateways
