"""The peer: the case list, a case and the change feed as a Django developer writes them in a day.

DRF ``ModelViewSet`` and ``ModelSerializer``, a plain django-filter ``FilterSet``, page-number
pagination, ``select_related`` and ``prefetch_related`` where the serializers follow a
relation, and the project's own authentication, permissions and redaction rules (its
settings' defaults). Its answers have the same keys as the tracker's; ``bench/compare_bench.py``
times the two side by side and ``tests/ops/test_bench_peer.py`` checks the keys and the order.
"""
