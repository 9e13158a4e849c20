"""Operator accounts: who they are, which projects they work, how they prove it.

The workplace password is kept as an argon2 hash; the softphone's SIP digest needs
MD5(login:realm:password), so that HA1 is kept too (never the password itself).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import DialerError
from dialer.storage.tables import OPERATOR, OPERATOR_PROJECT
from dialer.storage.types import utcnow

SIP_REALM = "dialer"
LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 8
PASSWORDS = PasswordHasher()


def sip_ha1(login: str, password: str) -> str:
    """What the registrar keeps for a phone's digest (RFC 7616 HA1: MD5 of ``login:realm:password``,
    computed here so that the accounts need no SIP code)."""
    return hashlib.md5(f"{login}:{SIP_REALM}:{password}".encode()).hexdigest()


@dataclass(frozen=True)
class OperatorAccount:
    login: str
    name: str
    projects: frozenset[int]
    active: bool


async def add_operator(
    conn: AsyncConnection, login: str, *, name: str, password: str, project_ids: Collection[int]
) -> OperatorAccount:
    """Create an operator working ``project_ids``; :class:`DialerError` says what is wrong."""
    problems = []
    if not LOGIN.match(login):
        problems.append(
            f"login {login!r}: 1-64 of a-z, 0-9, '.', '_', '-' (it is also the phone's extension)"
        )
    if len(password) < MIN_PASSWORD:
        problems.append(f"password: at least {MIN_PASSWORD} characters")
    if not project_ids:
        problems.append("give at least one project")
    exists = (await conn.execute(select(OPERATOR.c.id).where(OPERATOR.c.login == login))).first()
    if exists is not None:
        problems.append(f"operator {login!r} already exists")
    if problems:
        raise DialerError("cannot add the operator:\n  " + "\n  ".join(problems))
    result = await conn.execute(
        insert(OPERATOR).values(
            login=login, name=name, password_hash=PASSWORDS.hash(password),
            sip_ha1=sip_ha1(login, password), active=True, created_at=utcnow(),
        )
    )  # fmt: skip
    key = result.inserted_primary_key
    assert key is not None
    await conn.execute(
        insert(OPERATOR_PROJECT), [{"operator_id": key[0], "project_id": p} for p in sorted(project_ids)]
    )
    return OperatorAccount(login, name, frozenset(project_ids), True)


async def accounts(conn: AsyncConnection) -> list[OperatorAccount]:
    rows = (await conn.execute(select(OPERATOR).order_by(OPERATOR.c.login))).all()
    links = (await conn.execute(select(OPERATOR_PROJECT))).all()
    projects: dict[int, set[int]] = {}
    for operator_id, project_id in links:
        projects.setdefault(operator_id, set()).add(project_id)
    return [OperatorAccount(r.login, r.name, frozenset(projects.get(r.id, ())), r.active) for r in rows]


async def sip_secrets(conn: AsyncConnection) -> dict[str, str]:
    """login -> HA1 for every active operator with a password (what the registrar checks phones
    against; admins and supervisors have no phone)."""
    query = select(OPERATOR.c.login, OPERATOR.c.sip_ha1).where(
        OPERATOR.c.active.is_(True), OPERATOR.c.role == "operator", OPERATOR.c.sip_ha1 != ""
    )
    return {login: ha1 for login, ha1 in (await conn.execute(query)).all()}


async def check_password(conn: AsyncConnection, login: str, password: str) -> bool:
    """Whether ``password`` is the active operator's workplace password (argon2, constant-time)."""
    row = (
        await conn.execute(
            select(OPERATOR.c.password_hash).where(OPERATOR.c.login == login, OPERATOR.c.active.is_(True))
        )
    ).first()
    if row is None:
        PASSWORDS.hash(password)  # same cost whether or not the login exists
        return False
    try:
        return PASSWORDS.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
