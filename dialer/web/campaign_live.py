"""A campaign as it runs now, for the API's live view and the console's live page (one model)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from dialer.campaigns import CampaignOut
from dialer.web.keys import Served


class OperatorLive(BaseModel):
    login: str
    state: str
    seconds_in_state: float
    calls_today: int
    pause_reason: str | None = None


class CampaignLive(BaseModel):
    """What a supervisor watches: the loop's counts, the pacer's last decision, the operators."""

    name: str
    status: str
    dialing: bool = Field(
        description="a loop of this server places new calls for it (false while a stopped campaign's "
        "last calls go on: see calls_in_progress)"
    )
    amd_false_positive_rate: float | None = Field(
        default=None, description="estimated share of machine verdicts that were people (AMD campaigns)"
    )
    amd_hidden_abandons: float | None = Field(
        default=None, description="people hung up on as machines (estimated), inside the window's abandons"
    )
    amd_reviews: int | None = Field(default=None, description="machine verdicts operators have checked")
    calls_in_progress: int = 0
    launched: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    last_decision: str | None = Field(default=None, description="the pacer's one-line reason")
    dial_level: float | None = Field(default=None, description="calls in progress per operator at work")
    window_answers: int | None = Field(default=None, description="live answers in the legal window")
    window_abandons: int | None = None
    abandon_rate: float | None = Field(default=None, description="abandons per live answer in the window")
    abandon_budget: float | None = Field(default=None, description="abandons the window can still take")
    operators: list[OperatorLive] = Field(default_factory=list)


def live_view(
    runtime: Served | None, project_id: int, campaign_id: int, settings: CampaignOut
) -> CampaignLive:
    """What the engine of this server knows of the campaign now (counts are zero when it does not run)."""
    out = CampaignLive(name=settings.name, status=settings.status.value, dialing=False)
    engine = runtime.engine if runtime is not None else None
    if engine is None:
        return out
    out.operators = [
        OperatorLive(
            login=o.login, state=o.state, seconds_in_state=o.seconds_in_state, calls_today=o.calls_today,
            pause_reason=o.pause_reason,
        )
        for o in engine.operators(project_id)
    ]  # fmt: skip
    view = engine.campaign_view(campaign_id)
    if view is not None:
        fields = {name: getattr(view, name) for name in CampaignLive.model_fields if hasattr(view, name)}
        out = out.model_copy(update=fields)
    return out
