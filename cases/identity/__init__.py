"""A person's identity as GC III Art. 17 and 122 ask for it, beyond the fields on ``Person``.

The documents a person carried, the numbers other systems know him by, and the states that
claim him as a national, each a child row of the person with a plain ``person`` key (so that
merging duplicates can move them). Every write is a service here (``services``) that appends
one timeline event; the admin inlines (``admin``) and the API routes (``api``) call them.
"""
