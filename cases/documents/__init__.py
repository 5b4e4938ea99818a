"""Documents attached to a case, a statement or a request (docs/documents.md).

A document is a file (a letter, a scanned statement, an interview recording, a decision)
kept outside the web root through Django's storage API (``STORAGES["documents"]``: a folder
of the server by default, an S3 bucket through django-storages when configured). Its type is
sniffed from its bytes, its size is limited, its SHA-256 recorded; it is read only through
views that check the access policy and write the access log. ``models`` holds the row,
``sniffing`` the accepted types, ``storage`` where the bytes go, ``services`` the writes,
``api``, ``views`` and ``admin`` the surfaces.
"""
