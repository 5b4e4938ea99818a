"""Duplicate persons: found when a person is created or renamed, merged, and unmerged.

* :mod:`cases.duplicates.detection` finds likely duplicates of a candidate (names across
  scripts and spellings, birth date, unit, service number, documents), scored with reasons
  that cite only what the reader may see; candidates come from indexed lookups (blocking).
* :mod:`cases.duplicates.services` merges one person into another (``person_merge``) and
  undoes it (``person_unmerge``), moving every row that points at the person generically.
* :mod:`cases.duplicates.api` and :mod:`cases.duplicates.admin` are the two doors to them.
"""
