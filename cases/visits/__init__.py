"""Visits to places of detention and the private interviews held during them.

Models (``models.py``, imported by ``cases.models``), the services (``services.py``),
FilterSets (``filters.py``), the admin (``admin.py``) and the API (``api.py``). A visit by
the ICRC or a protecting power (GC III Art. 126) sees persons in private; a statement taken
in such an interview links to it, which is what lets the statement be ``verified``
(``cases.consent.interview_problems``).
"""
