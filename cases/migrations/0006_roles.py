"""Create the roles as groups: case officer, analyst, integration (see cases/security/access.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from cases.security.access import ensure_roles, remove_roles


def forwards(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now, the same way,
    # so the groups get the real rows (with Django's names) rather than look-alikes.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    ensure_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def backwards(apps, schema_editor):
    remove_roles(apps.get_model("auth", "Group"))


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_security_access_log_archiving"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
