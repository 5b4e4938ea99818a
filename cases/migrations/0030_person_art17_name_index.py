"""An index on a person's Art. 17 name as the duplicate check looks it up.

``lower(family_name || ' ' || given_names)``, the same expression on PostgreSQL and SQLite,
so that a candidate's spellings find a person recorded by his family and given names alone
without reading every person (``cases.duplicates.detection``).
"""

from django.db import migrations

INDEX = "person_art17_name"


class Migration(migrations.Migration):
    dependencies = [("cases", "0029_personname_unique_value_kind")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX {INDEX} ON cases_person "
            "((lower(family_name || ' ' || given_names))) WHERE family_name <> ''",
            f"DROP INDEX {INDEX}",
        )
    ]
