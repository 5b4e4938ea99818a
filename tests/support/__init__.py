"""What the tests share: users in the project's roles, clients, timeline assertions, worlds.

The modules hold no tests. ``tests/conftest.py`` registers the fixtures built on them, so a
test takes ``officer``, ``analyst``, ``officer_client`` ... by naming them.
"""
