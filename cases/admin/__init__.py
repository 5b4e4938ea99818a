"""The case officers' admin.

Thin by design: forms validate, and every save calls a service in ``cases.services`` with the
officer as actor, so each change lands on the case's timeline. The admin's own
``form.save()`` and ``formset.save()`` never run. Nothing can be deleted here: statements are
superseded or withdrawn, requests are withdrawn or lapse, and the timeline is append-only.

Django's autodiscovery imports this package; importing its modules registers their admins.
Shared parts are in ``mixins``, one module per area beside them.
"""

from django.contrib import admin

from cases.admin import (  # noqa: F401
    access_log,
    accounts,
    cases,
    intentions,
    parties,
    people,
    requests,
    risk,
    timeline,
    tokens,
)
from cases.admin.mixins import guard_other_apps
from cases.exchanges import admin as exchanges_admin  # noqa: F401
from cases.imports import admin as imports_admin  # noqa: F401
from cases.notifications import admin as notifications_admin  # noqa: F401
from cases.tasks import admin as tasks_admin  # noqa: F401
from cases.visits import admin as visits_admin  # noqa: F401
from cases.webhooks import admin as webhooks_admin  # noqa: F401

# The admins of users, groups, two-factor devices and lockouts come from other apps; they are
# registered before this package is imported (the cases app is listed last).
guard_other_apps(admin.site)
