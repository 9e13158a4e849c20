"""Scripts over the API and the CLI: a lossless round trip, every problem of a bad script in a 422
(nothing saved), versions with their differences and a way back, fields whose type cannot change
under leads' answers, another project's token refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from dialer.accounts.projects import project_by_slug
from dialer.engine import attempts
from dialer.leads import hopper
from dialer.leads import store as leads
from dialer.runtime import create_app
from dialer.storage import create_engine, reading, writing
from dialer.storage.tables import ATTEMPT, CAMPAIGN, LEAD, LEAD_ANSWER
from dialer.storage.types import utcnow
from scripts_crm.model import Script
from sms_email import store as messages
from sms_email.schema import TemplateBody

pytestmark = pytest.mark.integration
SAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "dialer/demo/loan_script.json").read_text(encoding="utf-8")
)
LOANS = "/api/v1/projects/loans"


@pytest.fixture
async def api(aiohttp_client, tenants):
    engine = create_engine(tenants.settings.database)
    async with writing(engine) as conn:
        loans = await project_by_slug(conn, "loans")
        assert loans is not None
        await messages.save_template(conn, loans.id, "finish-link", TemplateBody(medium="sms", body="ссылка"))
        await leads.upsert_many(conn, loans, [{"external_id": "A-1", "phones": ["+79123456789"]}])
    await engine.dispose()
    return await aiohttp_client(create_app(tenants.settings)), tenants


async def test_a_script_round_trips_unchanged_and_keeps_its_versions(api) -> None:
    client, tenants = api
    async with client.put(f"{LOANS}/scripts/loan-application", json=SAMPLE, headers=tenants.auth()) as r:
        assert r.status == 201, await r.text()
        assert await r.json() == {"name": "loan-application", "version": 1}
    async with client.get(f"{LOANS}/scripts/loan-application", headers=tenants.auth()) as r:
        exported = await r.json()
    assert exported == json.loads(json.dumps(exported))  # plain JSON
    assert Script.model_validate(exported) == Script.model_validate(SAMPLE)  # lossless

    changed = json.loads(json.dumps(SAMPLE))
    changed["steps"][0]["text"]["ru"] = "Добрый день, {{ lead.name }}!"
    async with client.put(f"{LOANS}/scripts/loan-application", json=changed, headers=tenants.auth()) as r:
        assert await r.json() == {"name": "loan-application", "version": 2}
    async with client.get(f"{LOANS}/scripts/loan-application/diff?from=1&to=2", headers=tenants.auth()) as r:
        changes = (await r.json())["changes"]
    assert changes[0] == "~ step greeting" and any("Добрый день" in c for c in changes)
    async with client.post(f"{LOANS}/scripts/loan-application/restore/1", headers=tenants.auth()) as r:
        assert await r.json() == {"name": "loan-application", "version": 3}
    async with client.get(f"{LOANS}/scripts/loan-application/versions", headers=tenants.auth()) as r:
        history = (await r.json())["versions"]
    assert [v["version"] for v in history] == [3, 2, 1] and history[0]["note"] == "back to version 1"
    async with client.get(f"{LOANS}/scripts/loan-application?version=2", headers=tenants.auth()) as r:
        assert (await r.json())["steps"][0]["text"]["ru"] == "Добрый день, {{ lead.name }}!"
    async with client.get(f"{LOANS}/scripts/loan-application/diff", headers=tenants.auth()) as r:
        assert r.status == 422  # from and to are required


async def test_a_bad_script_is_refused_with_every_problem_and_nothing_is_saved(api) -> None:
    client, tenants = api
    bad = json.loads(json.dumps(SAMPLE))
    bad["steps"][0]["next"] = "nowhere"
    bad["steps"].append({"id": "island", "kind": "end", "disposition": "done"})
    bad["steps"][1]["answers"][0]["actions"] = [{"kind": "send_message", "template": "missing"}]
    async with client.put(f"{LOANS}/scripts/loan-application", json=bad, headers=tenants.auth()) as r:
        assert r.status == 422
        problem = await r.json()
    found = {(e["field"], e["problem"]) for e in problem["errors"]}
    assert ("steps.greeting", "leads to 'nowhere', which is not a step") in found
    assert ("steps.island", "no way from the start reaches this step") in found
    assert ("steps.identity", "sends template 'missing', which the project does not have") in found
    async with client.post(f"{LOANS}/scripts/validate", json=bad, headers=tenants.auth()) as r:
        assert (await r.json())["valid"] is False
    async with client.put(
        f"{LOANS}/scripts/loan-application", json={"format": "x"}, headers=tenants.auth()
    ) as r:
        assert r.status == 422 and {"format", "start", "steps"} <= {
            e["field"] for e in (await r.json())["errors"]
        }
    async with client.get(f"{LOANS}/scripts", headers=tenants.auth()) as r:
        assert (await r.json())["scripts"] == []
    async with client.get(
        f"{LOANS}/scripts/loan-application", headers=tenants.auth(tenants.other_token)
    ) as r:
        assert r.status == 403


async def test_a_field_type_does_not_change_under_answers_leads_hold(api) -> None:
    client, tenants = api
    async with client.put(f"{LOANS}/fields", json=SAMPLE["fields"], headers=tenants.auth()) as r:
        assert r.status == 200
    engine = create_engine(tenants.settings.database)
    async with writing(engine) as conn:
        lead_id = (await conn.execute(select(LEAD.c.id))).scalar()
        await conn.execute(
            insert(LEAD_ANSWER).values(lead_id=lead_id, field="income", value="50000", at=utcnow())
        )
    await engine.dispose()
    changed = json.loads(json.dumps(SAMPLE["fields"]))
    next(f for f in changed["fields"] if f["name"] == "income")["type"] = "date"
    async with client.put(f"{LOANS}/fields", json=changed, headers=tenants.auth()) as r:
        assert r.status == 409 and "while 1 lead(s) hold answers" in (await r.json())["detail"]
    async with client.get("/api/v1/script.schema.json") as r:
        assert (await r.json())["title"].startswith("dialer-script/1")


def test_the_cli_validates_imports_and_exports_a_script(tmp_path: Path, tenants) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\npath = "{tenants.settings.database.path}"\n[sip]\nenabled = false\n')
    dialer = [sys.executable, "-m", "dialer", "--config", str(config), "script"]
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(SAMPLE, ensure_ascii=False), encoding="utf-8")
    broken = json.loads(json.dumps(SAMPLE))
    broken["start"] = "nowhere"
    bad.write_text(json.dumps(broken), encoding="utf-8")
    run = lambda *args: subprocess.run([*dialer, *args], capture_output=True, text=True, check=False)  # noqa: E731
    checked = run("validate", str(good))
    assert checked.returncode == 0 and "is valid (16 steps)" in checked.stdout
    refused = run("validate", str(bad))
    assert refused.returncode == 1 and "start: no step 'nowhere'" in refused.stderr
    assert run("import", str(bad), "--project", "loans").returncode == 1
    assert run("import", str(good), "--project", "loans").returncode == 1  # no template finish-link yet
    template = [
        sys.executable,
        "-m",
        "dialer",
        "--config",
        str(config),
        "messages",
        "template",
        "set",
        "loans",
    ]
    done = subprocess.run([*template, "finish-link", "--medium", "sms", "--body", "ссылка"], check=False)
    assert done.returncode == 0
    imported = run("import", str(good), "--project", "loans")
    assert imported.returncode == 0, imported.stderr
    exported = run("export", "loan-application", "--project", "loans")
    assert Script.model_validate(json.loads(exported.stdout)) == Script.model_validate(SAMPLE)


async def test_answers_are_checked_against_the_fields_and_kept_with_their_history(api) -> None:
    client, tenants = api
    async with client.put(f"{LOANS}/fields", json=SAMPLE["fields"], headers=tenants.auth()) as r:
        assert r.status == 200
    url = f"{LOANS}/leads/A-1/answers"
    bad = {"answers": {"income": "много", "snils": "123", "refusal_reason": "weather", "colour": "red"}}
    async with client.post(url, json=bad, headers=tenants.auth()) as r:
        assert r.status == 422
        found = {e["field"]: e["problem"] for e in (await r.json())["errors"]}
    assert found == {
        "income": "'много' is not a number",
        "snils": "does not match the field's pattern",
        "refusal_reason": "not a choice: weather",
        "colour": "the project has no such field",
    }
    good = {"answers": {"income": "45 000", "sms_consent": "да", "snils": "123-456-789 01"}, "author": "anna"}
    async with client.post(url, json=good, headers=tenants.auth()) as r:
        assert (await r.json())["answers"] == {
            "income": 45000,
            "sms_consent": True,
            "snils": "123-456-789 01",
        }
    async with client.post(
        url, json={"answers": {"income": "50000"}, "author": "boris"}, headers=tenants.auth()
    ) as r:
        history = (await r.json())["history"]
    last = history[-1]
    assert (last["field"], last["value"], last["previous"], last["author"]) == (
        "income",
        50000,
        45000,
        "boris",
    )
    async with client.get(url, headers=tenants.auth(tenants.other_token)) as r:
        assert r.status == 403


async def test_a_call_keeps_the_script_version_it_started_with(api) -> None:
    client, tenants = api
    async with client.put(f"{LOANS}/scripts/loan-application", json=SAMPLE, headers=tenants.auth()) as r:
        assert r.status == 201
    body = {"mode": "progressive", "script": "loan-application", "calling_window": "any-hour"}
    async with client.put(f"{LOANS}/campaigns/main", json=body, headers=tenants.auth()) as r:
        assert r.status == 201, await r.text()
    async with client.patch(f"{LOANS}/leads/A-1", json={"campaign": "main"}, headers=tenants.auth()) as r:
        assert r.status == 200, await r.text()
    engine = create_engine(tenants.settings.database)
    try:
        async with reading(engine) as conn:
            campaign_id = (await conn.execute(select(CAMPAIGN.c.id))).scalar()
        (lease,) = await hopper.next_leads(engine, campaign_id, 1, owner="test")
        first = await attempts.started(engine, lease, "call-1", at=utcnow())
        async with client.post(f"{LOANS}/scripts/loan-application/restore/1", headers=tenants.auth()) as r:
            assert (await r.json())["version"] == 2  # the script changes while the call goes on
        second = await attempts.started(engine, lease, "call-2", at=utcnow())
        async with reading(engine) as conn:
            versions = dict((await conn.execute(select(ATTEMPT.c.id, ATTEMPT.c.script_version))).all())
    finally:
        await engine.dispose()
    assert versions == {first: 1, second: 2}
    async with client.get(f"{LOANS}/leads/A-1/attempts", headers=tenants.auth()) as r:
        assert [a["script_version"] for a in (await r.json())["attempts"]] == [1, 2]
