"""Push the change feed to other systems as signed webhooks (docs/webhooks.md).

Each subscription follows the feed with its own cursor, as the account it carries, and posts
every matching event in feed order, signed per the Standard Webhooks specification.
``models`` holds the rows, ``crypto`` the secrets and signatures, ``safety`` the target
checks, ``delivery`` one attempt, ``engine`` the worker and ``services`` every write.
"""
