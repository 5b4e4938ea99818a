"""The notification log of GC III Art. 122-123 (docs/notifications.md).

Capture, transfers, hospital admissions, releases, repatriations, escapes and deaths must be
transmitted to the Power on which the prisoner depends, through the Protecting Power and the
Central Tracing Agency. ``models`` holds who must be told (a case's recipients) and each
notification owed; ``services`` opens them (inside the status change that makes them due, or
on their own for a transfer) and records what officers do with them; ``admin`` and ``api``
are their surfaces.
"""
