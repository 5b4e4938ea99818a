"""Change-feed views: placeholders until the feed is built; they answer 503."""

from rest_framework.response import Response
from rest_framework.views import APIView


class EventFeedView(APIView):
    """The change feed."""

    def get(self, request):
        return Response({"detail": "The change feed is not available yet."}, status=503)


class CaseTimelineView(APIView):
    """One case's events."""

    def get(self, request, case_uuid):
        return Response({"detail": "The case timeline is not available yet."}, status=503)
