"""``/api/v1/projects/{project}/campaigns``: list, create or change, start, pause, stop."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from dialer import campaigns
from dialer.errors import Conflict, NotFound, Rejected, field_errors
from dialer.leads import store
from dialer.storage import reading, writing
from dialer.web.api.leads import PROJECT
from dialer.web.api.openapi import Operation, Param
from dialer.web.api.problems import ProblemError, problem_of
from dialer.web.api.requests import authorize_project, read_json
from dialer.web.campaign_live import CampaignLive, live_view
from dialer.web.keys import DATABASE, RUNTIME

BASE = "/api/v1/projects/{project}/campaigns"
NAME = Param(
    "name", "path", {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$", "maxLength": 64}, "campaign name"
)
ACTION = Param("action", "path", {"type": "string", "enum": list(campaigns.ACTIONS)}, "what to do")


async def list_campaigns(request: web.Request) -> web.Response:
    """The project's campaigns, highest priority first."""
    project = await authorize_project(request)
    async with reading(request.app[DATABASE]) as conn:
        out = await campaigns.list_all(conn, project)
    return web.json_response(text=out.model_dump_json())


async def put_campaign(request: web.Request) -> web.Response:
    """Create a campaign (paused) or replace its settings; 201 when created."""
    project = await authorize_project(request)
    _, payload = await read_json(request, 64 * 1024)
    try:
        settings = campaigns.CampaignIn.model_validate(payload)
    except ValidationError as exc:
        raise ProblemError(
            422, "the campaign was rejected", errors=field_errors(exc), kind="invalid-campaign"
        ) from None
    async with writing(request.app[DATABASE]) as conn:
        created, out = await campaigns.put(conn, project, request.match_info["name"], settings)
    return web.json_response(text=out.model_dump_json(), status=201 if created else 200)


async def get_campaign(request: web.Request) -> web.Response:
    """One campaign's settings and status."""
    project = await authorize_project(request)
    try:
        async with reading(request.app[DATABASE]) as conn:
            out = await campaigns.get(conn, project, request.match_info["name"])
    except (Rejected, NotFound) as exc:
        raise problem_of(exc) from None
    return web.json_response(text=out.model_dump_json())


async def campaign_action(request: web.Request) -> web.Response:
    """Start, pause or stop a campaign; doing it twice is harmless."""
    project = await authorize_project(request)
    action = request.match_info["action"]
    if action not in campaigns.ACTIONS:
        raise ProblemError(404, f"no action {action!r}; actions: {', '.join(campaigns.ACTIONS)}")
    try:
        async with writing(request.app[DATABASE]) as conn:
            out = await campaigns.act(conn, project, request.match_info["name"], action)
    except (Rejected, NotFound, Conflict) as exc:
        raise problem_of(exc) from None
    runtime = request.app.get(RUNTIME)
    if runtime is not None and runtime.engine is not None:
        runtime.engine.campaigns_changed()  # its loop starts or stops now, not at the next look
    return web.json_response(text=out.model_dump_json())


async def campaign_live(request: web.Request) -> web.Response:
    """The campaign as it runs now in this server."""
    project = await authorize_project(request)
    try:
        async with reading(request.app[DATABASE]) as conn:
            settings = await campaigns.get(conn, project, request.match_info["name"])
            campaign_id = (await store.campaign_ids(conn, project.id))[settings.name]
    except (Rejected, NotFound) as exc:
        raise problem_of(exc) from None
    out = live_view(request.app.get(RUNTIME), project.id, campaign_id, settings)
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
        "GET",
        BASE + "/{name}/live",
        campaign_live,
        "Watch a campaign run",
        "campaigns",
        {200: CampaignLive},
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
        route=BASE + "/{name}/{action:(?!live$)[^/]+}",  # so that /live is only the live view
    ),
]
