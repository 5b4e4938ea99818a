"""Rewrite Django admin's change-log rows written before it kept object text out.

Until the admin named objects by kind and reference or uuid, ``object_repr`` held ``str()`` of
the object (a note's first words, a name variant's value) and ``change_message`` could name
inline rows the same way. History pages show both, and the rows outlived a purge. This
rewrites every row about the tracker's own records in the form the admin now writes: the
object named by kind and reference or uuid, the message reduced to the fields it changed.
"""

import json

from django.db import migrations

BATCH = 1000


def _label(model, object_id, keys):
    name = str(model._meta.verbose_name).capitalize()
    return f"{name} {keys.get(object_id, object_id)}"[:200]


def _clean_message(message):
    try:
        parts = json.loads(message) if message else []
    except ValueError:
        return ""
    if not isinstance(parts, list):
        return ""
    cleaned = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        for verb, detail in part.items():
            if verb == "changed" and isinstance(detail, dict) and "fields" in detail:
                fields = [str(f) for f in detail.get("fields", []) if isinstance(f, str)]
                if "object" in detail:
                    cleaned.append({verb: {"name": str(detail.get("name", "")), "fields": fields}})
                else:
                    cleaned.append({verb: {"fields": fields}})
            elif verb in ("added", "changed", "deleted"):
                name = detail.get("name", "") if isinstance(detail, dict) else ""
                cleaned.append({verb: {"name": str(name)} if name else {}})
    return json.dumps(cleaned)


def scrub(apps, schema_editor):
    LogEntry = apps.get_model("admin", "LogEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    for content_type in ContentType.objects.filter(app_label="cases"):
        try:
            model = apps.get_model("cases", content_type.model)
        except LookupError:
            continue
        field_names = {f.name for f in model._meta.concrete_fields}
        key_field = (
            "reference" if "reference" in field_names else "uuid" if "uuid" in field_names else None
        )
        entries = LogEntry.objects.filter(content_type_id=content_type.pk)
        ids = list(entries.values_list("object_id", flat=True).distinct())
        keys = {}
        if key_field:
            for start in range(0, len(ids), BATCH):
                chunk = [i for i in ids[start : start + BATCH] if str(i).isdigit()]
                for pk, key in model.objects.filter(pk__in=chunk).values_list("pk", key_field):
                    keys[str(pk)] = str(key)
        changed = []
        for entry in entries.iterator(chunk_size=BATCH):
            entry.object_repr = _label(model, entry.object_id, keys)
            entry.change_message = _clean_message(entry.change_message)
            changed.append(entry)
            if len(changed) >= BATCH:
                LogEntry.objects.bulk_update(changed, ["object_repr", "change_message"])
                changed = []
        if changed:
            LogEntry.objects.bulk_update(changed, ["object_repr", "change_message"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0015_timeline_hardening"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop)]
