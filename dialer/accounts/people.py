"""People: one account for admins, supervisors and operators, the projects each may see, and the
one-time links (invitation, password reset) that let them choose a password.

Roles
-----
*admin*: everything, every project. *supervisor*: the projects they are a member of (campaigns,
leads, scripts, reports, operators' states). *operator*: their own workplace in their projects.
:func:`sees` is the one rule every page, form, stream and API call of the console applies; a person
of project A asking for anything of project B is answered as if it did not exist.

An invited person exists from the moment they are invited (so they can be given projects and
listed as not accepted yet) with empty ``password_hash`` and ``sip_ha1``: nothing matches them until
they follow the link and choose a password. Links are random tokens kept as SHA-256, valid 72 hours,
used once; a new link for the same purpose revokes the older ones.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.accounts.operators import LOGIN, MIN_PASSWORD, PASSWORDS, sip_ha1
from dialer.accounts.tokens import digest
from dialer.errors import Conflict, FieldError, NotFound, Rejected
from dialer.storage.tables import INVITATION, OPERATOR, OPERATOR_PROJECT, PROJECT, WEB_SESSION
from dialer.storage.types import utcnow

LINK_HOURS = 72


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    OPERATOR = "operator"


class Purpose(enum.StrEnum):
    INVITE = "invite"
    RESET = "reset"


@dataclass(frozen=True)
class Person:
    id: int
    login: str
    name: str
    role: Role
    email: str | None
    projects: frozenset[int]
    active: bool
    locale: str | None
    pending: bool  # invited, no password chosen yet

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def sees(person: Person, project_id: int | None) -> bool:
    """Whether ``person`` may see (and, by role, act on) anything of project ``project_id``."""
    if not person.active:
        return False
    return person.is_admin or (project_id is not None and project_id in person.projects)


def visible(person: Person) -> frozenset[int] | None:
    """The project ids ``person`` sees; None for every project (admins)."""
    return None if person.is_admin else person.projects


async def projects_seen(conn: AsyncConnection, person: Person) -> Sequence[RowMapping]:
    """The projects ``person`` sees, by name."""
    ids = visible(person)
    query = select(PROJECT).order_by(PROJECT.c.name)
    if ids is not None:
        query = query.where(PROJECT.c.id.in_(list(ids)))
    return (await conn.execute(query)).mappings().all()


async def _memberships(conn: AsyncConnection, ids: Collection[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    if ids:
        rows = await conn.execute(
            select(OPERATOR_PROJECT).where(OPERATOR_PROJECT.c.operator_id.in_(list(ids)))
        )
        for operator_id, project_id in rows.all():
            out.setdefault(operator_id, set()).add(project_id)
    return out


def _person(row: object, projects: set[int]) -> Person:
    r = row._mapping  # type: ignore[attr-defined]
    return Person(
        id=r["id"], login=r["login"], name=r["name"], role=Role(r["role"]), email=r["email"],
        projects=frozenset(projects), active=r["active"], locale=r["locale"], pending=not r["password_hash"],
    )  # fmt: skip


async def person_by(
    conn: AsyncConnection, *, login: str | None = None, person_id: int | None = None
) -> Person:
    query = select(OPERATOR)
    query = (
        query.where(OPERATOR.c.login == login)
        if login is not None
        else query.where(OPERATOR.c.id == person_id)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"no person {login or person_id!r}")
    return _person(row, (await _memberships(conn, [row.id])).get(row.id, set()))


async def people(conn: AsyncConnection, *, seen_by: Person) -> list[Person]:
    """Everyone ``seen_by`` may see: all for an admin; for a supervisor, the people of their projects."""
    rows = (await conn.execute(select(OPERATOR).order_by(OPERATOR.c.role, OPERATOR.c.login))).all()
    links = await _memberships(conn, [r.id for r in rows])
    everyone = [_person(r, links.get(r.id, set())) for r in rows]
    if seen_by.is_admin:
        return everyone
    return [p for p in everyone if p.projects & seen_by.projects and not p.is_admin]


def _check(
    login: str, name: str, email: str | None, role: Role, project_ids: Collection[int]
) -> list[FieldError]:
    problems = []
    if not LOGIN.match(login):
        problem = f"{login!r}: 1-64 of a-z, 0-9, '.', '_', '-'"
        expected = "e.g. ivanova (an operator's is also the phone's extension)"
        problems.append(FieldError(field="login", problem=problem, expected=expected))
    if not name.strip():
        problems.append(FieldError(field="name", problem="empty"))
    if role is not Role.ADMIN and not project_ids:
        problems.append(FieldError(field="projects", problem="give at least one project"))
    if email is not None and ("@" not in email or len(email) > 320):
        problems.append(FieldError(field="email", problem=f"{email!r} is not an email address"))
    return problems


async def add_person(
    conn: AsyncConnection,
    login: str,
    *,
    name: str,
    role: Role,
    email: str | None = None,
    project_ids: Collection[int] = (),
    password: str | None = None,
    locale: str | None = None,
) -> Person:
    """Create a person (with ``password``, or pending an invitation); :class:`Rejected` names each
    wrong field, :class:`Conflict` a login or email already taken."""
    problems = _check(login, name, email, role, project_ids)
    if password is not None and len(password) < MIN_PASSWORD:
        problems.append(FieldError(field="password", problem=f"at least {MIN_PASSWORD} characters"))
    known = set(
        (await conn.execute(select(PROJECT.c.id).where(PROJECT.c.id.in_(list(project_ids))))).scalars()
    )
    if set(project_ids) - known:
        problems.append(
            FieldError(field="projects", problem=f"no project with id {sorted(set(project_ids) - known)}")
        )
    if problems:
        raise Rejected(f"{login!r} was not added", problems)
    if (await conn.execute(select(OPERATOR.c.id).where(OPERATOR.c.login == login))).first() is not None:
        raise Conflict(f"login {login!r} is taken")
    if (
        email
        and (
            await conn.execute(select(OPERATOR.c.id).where(func.lower(OPERATOR.c.email) == email.lower()))
        ).first()
    ):
        raise Conflict(f"{email} already belongs to someone")
    values = {
        "login": login, "name": name.strip(), "role": role.value, "email": email, "locale": locale,
        "password_hash": PASSWORDS.hash(password) if password else "",
        "sip_ha1": sip_ha1(login, password) if password and role is Role.OPERATOR else "",
        "active": True, "created_at": utcnow(),
    }  # fmt: skip
    person_id = (await conn.execute(insert(OPERATOR).values(**values).returning(OPERATOR.c.id))).scalar_one()
    if project_ids:
        await conn.execute(
            insert(OPERATOR_PROJECT),
            [{"operator_id": person_id, "project_id": p} for p in sorted(project_ids)],
        )
    return await person_by(conn, person_id=person_id)


async def change_person(
    conn: AsyncConnection,
    person_id: int,
    *,
    role: Role | None = None,
    project_ids: Collection[int] | None = None,
    active: bool | None = None,
    name: str | None = None,
    locale: str | None = None,
) -> Person:
    """Change what is given; deactivating signs the person out everywhere at once."""
    values: dict[str, object] = {}
    if role is not None:
        values["role"] = role.value
    if active is not None:
        values["active"] = active
    if name is not None and name.strip():
        values["name"] = name.strip()
    if locale is not None:
        values["locale"] = locale or None
    if values:
        await conn.execute(update(OPERATOR).where(OPERATOR.c.id == person_id).values(**values))
    if project_ids is not None:
        await conn.execute(delete(OPERATOR_PROJECT).where(OPERATOR_PROJECT.c.operator_id == person_id))
        if project_ids:
            await conn.execute(
                insert(OPERATOR_PROJECT),
                [{"operator_id": person_id, "project_id": p} for p in sorted(project_ids)],
            )
    if active is False:
        await conn.execute(delete(WEB_SESSION).where(WEB_SESSION.c.operator_id == person_id))
    return await person_by(conn, person_id=person_id)


async def set_password(conn: AsyncConnection, person_id: int, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        short = f"at least {MIN_PASSWORD} characters"
        raise Rejected(f"the password is too short: {short}", [FieldError(field="password", problem=short)])
    row = (
        await conn.execute(select(OPERATOR.c.login, OPERATOR.c.role).where(OPERATOR.c.id == person_id))
    ).one()
    ha1 = sip_ha1(row.login, password) if row.role == Role.OPERATOR else ""
    await conn.execute(
        update(OPERATOR)
        .where(OPERATOR.c.id == person_id)
        .values(password_hash=PASSWORDS.hash(password), sip_ha1=ha1)
    )


async def check_credentials(conn: AsyncConnection, login: str, password: str) -> Person | None:
    """The active person whose password this is; None otherwise (the same cost either way)."""
    row = (
        await conn.execute(
            select(OPERATOR).where(OPERATOR.c.login == login.strip().lower(), OPERATOR.c.active.is_(True))
        )
    ).first()
    if row is None or not row.password_hash:
        PASSWORDS.hash(password)
        return None
    try:
        PASSWORDS.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return await person_by(conn, person_id=row.id)


async def admins(conn: AsyncConnection) -> int:
    query = select(func.count()).where(OPERATOR.c.role == Role.ADMIN.value, OPERATOR.c.active.is_(True))
    return int((await conn.execute(query)).scalar() or 0)


async def issue_link(
    conn: AsyncConnection, person_id: int, purpose: Purpose, *, now: datetime | None = None
) -> str:
    """A new one-time link token (shown once, in the email); earlier unused ones of the purpose go."""
    now = now or utcnow()
    await conn.execute(
        update(INVITATION)
        .where(INVITATION.c.operator_id == person_id, INVITATION.c.purpose == purpose.value,
               INVITATION.c.used_at.is_(None), INVITATION.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )  # fmt: skip
    token = secrets.token_urlsafe(32)
    await conn.execute(
        insert(INVITATION).values(
            operator_id=person_id, purpose=purpose.value, token_hash=digest(token), created_at=now,
            expires_at=now + timedelta(hours=LINK_HOURS),
        )
    )  # fmt: skip
    return token


async def link_person(
    conn: AsyncConnection, token: str, purpose: Purpose, *, now: datetime | None = None
) -> Person:
    """Whose link this is, if it can still be used; :class:`Rejected` saying why not."""
    now = now or utcnow()
    row = (
        await conn.execute(
            select(INVITATION).where(
                INVITATION.c.token_hash == digest(token), INVITATION.c.purpose == purpose.value
            )
        )
    ).first()
    if row is None:
        raise Rejected("this link is not valid; ask for a new one")
    if row.used_at is not None:
        raise Rejected("this link was used already; sign in, or ask for a new one")
    if row.revoked_at is not None:
        raise Rejected("this link was replaced by a newer one or withdrawn; use the latest email")
    if row.expires_at <= now:
        raise Rejected(f"this link expired (links are valid {LINK_HOURS} hours); ask for a new one")
    return await person_by(conn, person_id=row.operator_id)


async def use_link(
    conn: AsyncConnection, token: str, purpose: Purpose, password: str, *, now: datetime | None = None
) -> Person:
    """Choose the password through the link; an invitation also confirms the email address."""
    now = now or utcnow()
    person = await link_person(conn, token, purpose, now=now)
    await set_password(conn, person.id, password)
    await conn.execute(update(INVITATION).where(INVITATION.c.token_hash == digest(token)).values(used_at=now))
    if purpose is Purpose.INVITE:
        await conn.execute(update(OPERATOR).where(OPERATOR.c.id == person.id).values(email_confirmed_at=now))
    else:  # a new password signs out every other session
        await conn.execute(delete(WEB_SESSION).where(WEB_SESSION.c.operator_id == person.id))
    return await person_by(conn, person_id=person.id)


async def revoke_links(conn: AsyncConnection, person_id: int, *, now: datetime | None = None) -> int:
    result = await conn.execute(
        update(INVITATION)
        .where(
            INVITATION.c.operator_id == person_id,
            INVITATION.c.used_at.is_(None),
            INVITATION.c.revoked_at.is_(None),
        )
        .values(revoked_at=now or utcnow())
    )
    return int(result.rowcount or 0)


async def invited_at(conn: AsyncConnection, person_ids: Sequence[int]) -> dict[int, datetime]:
    """When each pending person was last invited (their latest open invitation)."""
    if not person_ids:
        return {}
    rows = await conn.execute(
        select(INVITATION.c.operator_id, func.max(INVITATION.c.created_at))
        .where(INVITATION.c.operator_id.in_(list(person_ids)), INVITATION.c.purpose == Purpose.INVITE.value)
        .group_by(INVITATION.c.operator_id)
    )
    return dict(rows.all())
