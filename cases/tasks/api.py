"""Tasks in the API: ``/api/v1/tasks/``.

List and filter them (``assignee=me``, ``state``, ``due_before`` / ``due_after``,
``overdue``, ``case``, ``kind``), write one by hand (POST with ``Idempotency-Key``), change
it (PATCH or PUT naming the version read: ``If-Match`` or ``version``; 412 stale, 428
missing) and close it: ``done`` and ``cancel``, each a POST naming the version.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action

from cases.api import serializers as s
from cases.api.mixins import VersionedUpdateMixin, actor_for, expected_version, without_common
from cases.api.schema import ERRORS, IF_MATCH, LOCKING, NOT_FOUND, resource_schema
from cases.api.views import ResourceViewSet
from cases.models import Case, Source
from cases.tasks import services
from cases.tasks.filters import TaskFilterSet
from cases.tasks.models import Task

USERNAME = get_user_model().USERNAME_FIELD


def tasks():
    """Return tasks with what their representation reads."""
    return Task.objects.select_related("case", "assignee", "done_by")


class TaskSerializer(s.SensitiveFieldsMixin, s.RowSerializer):
    """A task on a case; its details need the permission to view sensitive values."""

    redacted = s.redacted_field()

    url = s.DetailUrlField("api:task-detail")
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    assignee = serializers.SlugRelatedField(
        slug_field=USERNAME,
        read_only=True,
        help_text="Null: the case's assigned officer's queue (nobody, if it has none).",
    )
    done_by = serializers.SlugRelatedField(slug_field=USERNAME, read_only=True)
    subject = serializers.UUIDField(
        source="subject_uuid",
        read_only=True,
        allow_null=True,
        help_text="Id of the row a rule's task is about (its subject_type's).",
    )

    class Meta:
        model = Task
        fields = [
            "url",
            "uuid",
            "case",
            "title",
            "details",
            "kind",
            "assignee",
            "due_on",
            "state",
            "done_at",
            "done_by",
            "subject_type",
            "subject",
            "redacted",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TaskUpdateSerializer(s.InputSerializer):
    """Input for ``task_update``."""

    title = serializers.CharField(max_length=200, required=False)
    details = serializers.CharField(required=False, allow_blank=True, help_text="Sensitive.")
    assignee = serializers.SlugRelatedField(
        slug_field=USERNAME,
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Username; null: the case's assigned officer's queue.",
    )
    due_on = serializers.DateField(required=False)
    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class TaskInputSerializer(TaskUpdateSerializer):
    """Input for ``task_open``: a task written by hand on a case."""

    case = s.PublicIdField(queryset=Case.objects.all())
    title = serializers.CharField(max_length=200)
    due_on = serializers.DateField()
    assignee = serializers.SlugRelatedField(
        slug_field=USERNAME,
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Username; left out: the case's assigned officer.",
    )


class TaskCloseSerializer(s.InputSerializer):
    """Input for ``task_done`` and ``task_cancel``: the version read and an optional reason."""

    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


def _close_schema(summary: str):
    return extend_schema(
        summary=summary,
        request=TaskCloseSerializer,
        parameters=[IF_MATCH],
        responses={200: TaskSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    )


@resource_schema(
    serializer=TaskSerializer,
    list_summary="List tasks",
    retrieve_summary="Read a task",
    create_summary="Write a task on a case",
    create_description="Without an assignee it goes to the case's assigned officer. Tasks "
    "the clocks open (capture cards, notifications, requests without an answer, consent "
    "going stale) are not written here (docs/tasks.md).",
    create_request=TaskInputSerializer,
    update_request=TaskUpdateSerializer,
    replace_summary="Change a task",
    change_summary="Change a task (title, details, assignee, due day)",
)
class TaskViewSet(VersionedUpdateMixin, ResourceViewSet):
    """Tasks on cases: what to do, by whom, by when."""

    queryset = tasks()
    serializer_class = TaskSerializer
    filterset_class = TaskFilterSet
    update_serializer_class = TaskUpdateSerializer
    update_service = staticmethod(services.task_update)

    def get_queryset(self):
        return tasks()

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(TaskInputSerializer))
        row = services.task_open(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)

    def _close(self, request, service):
        task = self.get_object()
        version = expected_version(request)
        fields, reason = without_common(self.validated(TaskCloseSerializer))
        service(
            actor=actor_for(request), task=task, expected_version=version, reason=reason, **fields
        )
        return self.row_response(task.pk)

    @_close_schema("Mark a task done")
    @action(detail=True, methods=["post"], write_permission="cases.change_task")
    def done(self, request, uuid=None, **kwargs):
        return self._close(request, services.task_done)

    @_close_schema("Cancel a task")
    @action(detail=True, methods=["post"], write_permission="cases.change_task")
    def cancel(self, request, uuid=None, **kwargs):
        return self._close(request, services.task_cancel)
