"""The pages' download of a document: ``/documents/<uuid>/download`` (a signed-in session).

Case officers reach it from the admin's case page, analysts who may see sensitive values
from wherever a document is listed; the check and the log are the API's (``downloads``).
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404

from cases.documents import downloads
from cases.documents.models import Document
from cases.security import access
from cases.security.policy import policy_for


def download(request, uuid):
    """Answer the document's file to a reader who may read it; 403 with nothing to others."""
    policy = policy_for(request.user)
    if not policy.signed_in:
        return redirect_to_login(request.get_full_path())
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if not policy.may_read("document"):
        raise PermissionDenied
    downloads.refuse_unless_allowed(request.user, PermissionDenied)
    document = get_object_or_404(Document.objects.select_related("case"), uuid=uuid)
    return downloads.serve(document, user=request.user, channel=access.PAGE, path=request.path)
