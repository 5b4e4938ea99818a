"""Exchanges of prisoners and the handovers that execute a move across a border.

Models (``models.py``, imported by ``cases.models``), the one handover service and the
exchange services (``services.py``), FilterSets (``filters.py``), the admin (``admin.py``)
and the API (``api.py``). A case reaches ``repatriated`` or ``transferred_third_state``, and
a request that moves a person becomes ``executed``, only through ``handover_record``.
"""
