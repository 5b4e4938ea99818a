"""Places of detention, a case's movements between them and its capture cards (GC III Art. 70).

Models (``models.py``, imported by ``cases.models``), services (``services.py``), FilterSets
(``filters.py``), the admin (``admin.py``) and the API (``api.py``) of the capability; the
Art. 70 clock itself is in :mod:`cases.clocks`.
"""
