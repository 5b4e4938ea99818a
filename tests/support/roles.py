"""Users in the project's roles, built only from the role table (``cases.security.access``).

A role's permissions are what ``access.ROLES`` gives its group, and nothing else: a test
that needs more names the extra permissions and says why.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission

from cases.security import access
from tests import factories as f

#: The roles of the project's role table, in its order.
ROLE_NAMES: tuple[str, ...] = tuple(access.ROLES)

CASE_OFFICER = "case officer"
ANALYST = "analyst"
INTEGRATION = "integration"

_counter = itertools.count(1)


def permissions(codenames: Iterable[str]) -> list[Permission]:
    """Return the ``cases`` permissions named by ``codenames``, failing on an unknown one."""
    codenames = list(codenames)
    found = list(Permission.objects.filter(content_type__app_label="cases", codename__in=codenames))
    missing = set(codenames) - {p.codename for p in found}
    assert not missing, f"No such cases permission: {sorted(missing)}"
    return found


def user_in_role(
    role: str | None,
    username: str | None = None,
    *,
    extra_permissions: Iterable[str] = (),
    **user_fields,
):
    """Return a new user in ``role`` (a name in ``access.ROLES``; None: signed in, no role).

    ``extra_permissions`` are ``cases`` codenames granted on top of the role; a caller that
    passes any says why. Other keyword arguments (``is_staff``, ``password`` ...) go to the
    user.
    """
    if role is not None and role not in access.ROLES:
        raise ValueError(f"{role!r} is not in the role table {ROLE_NAMES}")
    access.ensure_roles()
    user = f.user(
        username or f"{(role or 'norole').replace(' ', '-')}{next(_counter)}", **user_fields
    )
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    extra = list(extra_permissions)
    if extra:
        user.user_permissions.add(*permissions(extra))
    return user


def read_write_integration(username: str | None = None, **user_fields):
    """Return an integration's user that may also write.

    docs/security.md: a read-write integration is the integration role plus the add and
    change permissions (granted to its user by name), used with a token that is not
    read-only.
    """
    codenames = Permission.objects.filter(
        content_type__app_label="cases", codename__regex=r"^(add|change)_"
    ).values_list("codename", flat=True)
    return user_in_role(INTEGRATION, username, extra_permissions=codenames, **user_fields)


def superuser(username: str | None = None, **user_fields):
    """Return a superuser (staff too, as the data-protection officer's account is)."""
    user_fields.setdefault("is_staff", True)
    return f.user(username or f"root{next(_counter)}", is_superuser=True, **user_fields)
