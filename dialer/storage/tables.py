"""The tables as SQLAlchemy Core handles, exported once for every module that writes SQL.

The SQLModel classes in :mod:`dialer.storage.models` describe the schema (and Alembic's migrations
follow them); code that reads and writes uses these handles, so ``Model.__table__`` (which the type
checker does not know) is looked up here and nowhere else.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel

from dialer.storage import models


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


PROJECT = _table(models.Project)
API_TOKEN = _table(models.ApiToken)
CAMPAIGN = _table(models.Campaign)
LEAD = _table(models.Lead)
LEAD_EVENT = _table(models.LeadEvent)
ATTEMPT = _table(models.Attempt)
DNC = _table(models.DncEntry)
IDEMPOTENT_REQUEST = _table(models.IdempotentRequest)
WEBHOOK_DELIVERY = _table(models.WebhookDelivery)
OPERATOR = _table(models.OperatorRow)
OPERATOR_PROJECT = _table(models.OperatorProject)
OPERATOR_SESSION = _table(models.OperatorSession)
PHONE_BINDING = _table(models.PhoneBinding)
MESSAGE_TEMPLATE = _table(models.MessageTemplate)
MESSAGE = _table(models.Message)
MESSAGE_STOP = _table(models.MessageStop)
WEB_SESSION = _table(models.WebSession)
INVITATION = _table(models.Invitation)
FIELD_SET = _table(models.FieldSetRow)
SCRIPT = _table(models.ScriptRow)
SCRIPT_VERSION = _table(models.ScriptVersion)
LEAD_ANSWER = _table(models.LeadAnswer)
WORKPLACE_DRAFT = _table(models.WorkplaceDraft)
OPERATOR_STATE = _table(models.OperatorStateRow)
OPERATOR_TARGET = _table(models.OperatorTarget)
CALL_REVIEW = _table(models.CallReview)
SUMMARY_SUBSCRIPTION = _table(models.SummarySubscription)
DIAL_SAMPLE = _table(models.DialSample)
CALL_HOUR = _table(models.CallHour)
OPERATOR_HOUR = _table(models.OperatorHour)
WAIT_HOUR = _table(models.WaitHour)
ROLLUP_MARK = _table(models.RollupMark)
