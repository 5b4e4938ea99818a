"""Tasks on a case and the clocks that open them (docs/tasks.md).

A task is something an officer must do on a case by a day: written by hand, or opened by a
rule when a clock starts (a movement owes a capture card, a notification is opened, a
request is filed, a scheduled handover nears while consent goes stale) and closed when it
stops. ``models`` holds the task, ``rules`` the clocks that open and close rule tasks
(inside the services that start and stop them, and in ``manage.py open_due_tasks``),
``services`` every write, ``filters``, ``admin`` and ``api`` its surfaces; the "My work"
page is in ``cases.pages``.
"""
