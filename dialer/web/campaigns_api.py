"""``/api/v1/projects/{project}/campaigns``: list, create or change, start, pause, stop."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from dialer import campaigns
from dialer.leads.schema import field_errors
from dialer.leads.store import LeadError
from dialer.storage import reading, writing
from dialer.web.keys import ENGINE
from dialer.web.leads_api import PROJECT
from dialer.web.openapi import Operation, Param
from dialer.web.problems import ProblemError
from dialer.web.requests import authorize, read_json

BASE = "/api/v1/projects/{project}/campaigns"
NAME = Param(
    "name", "path", {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$", "maxLength": 64}, "campaign name"
)
ACTION = Param("action", "path", {"type": "string", "enum": list(campaigns.ACTIONS)}, "what to do")


async def list_campaigns(request: web.Request) -> web.Response:
    """The project's campaigns, highest priority first."""
    project = await authorize(request)
    async with reading(request.app[ENGINE]) as conn:
        out = await campaigns.list_all(conn, project)
    return web.json_response(text=out.model_dump_json())


async def put_campaign(request: web.Request) -> web.Response:
    """Create a campaign (paused) or replace its settings; 201 when created."""
    project = await authorize(request)
    _, payload = await read_json(request, 64 * 1024)
    try:
        settings = campaigns.CampaignIn.model_validate(payload)
    except ValidationError as exc:
        raise ProblemError(
            422, "the campaign was rejected", errors=field_errors(exc), kind="invalid-campaign"
        ) from None
    async with writing(request.app[ENGINE]) as conn:
        created, out = await campaigns.put(conn, project, request.match_info["name"], settings)
    return web.json_response(text=out.model_dump_json(), status=201 if created else 200)


async def get_campaign(request: web.Request) -> web.Response:
    """One campaign's settings and status."""
    project = await authorize(request)
    try:
        async with reading(request.app[ENGINE]) as conn:
            out = await campaigns.get(conn, project, request.match_info["name"])
    except LeadError as exc:
        raise ProblemError(exc.status, str(exc)) from None
    return web.json_response(text=out.model_dump_json())


async def campaign_action(request: web.Request) -> web.Response:
    """Start, pause or stop a campaign; doing it twice is harmless."""
    project = await authorize(request)
    action = request.match_info["action"]
    if action not in campaigns.ACTIONS:
        raise ProblemError(404, f"no action {action!r}; actions: {', '.join(campaigns.ACTIONS)}")
    try:
        async with writing(request.app[ENGINE]) as conn:
            out = await campaigns.act(conn, project, request.match_info["name"], action)
    except LeadError as exc:
        raise ProblemError(exc.status, str(exc)) from None
    return web.json_response(text=out.model_dump_json())


OPERATIONS = [
    Operation(
        "GET",
        BASE,
        list_campaigns,
        "List campaigns",
        "campaigns",
        {200: campaigns.CampaignList},
        params=(PROJECT,),
    ),
    Operation(
        "PUT",
        BASE + "/{name}",
        put_campaign,
        "Create or change a campaign",
        "campaigns",
        {200: campaigns.CampaignOut, 201: campaigns.CampaignOut},
        body=campaigns.CampaignIn,
        params=(PROJECT, NAME),
        errors=(401, 403),
    ),
    Operation(
        "GET",
        BASE + "/{name}",
        get_campaign,
        "Read a campaign",
        "campaigns",
        {200: campaigns.CampaignOut},
        params=(PROJECT, NAME),
    ),
    Operation(
        "POST",
        BASE + "/{name}/{action}",
        campaign_action,
        "Start, pause or stop a campaign",
        "campaigns",
        {200: campaigns.CampaignOut},
        params=(PROJECT, NAME, ACTION),
    ),
]
