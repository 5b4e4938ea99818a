"""The pages' routes of documents: the checked, logged download."""

from django.urls import path

from cases.documents import views

app_name = "documents"

urlpatterns = [
    path("<uuid:uuid>/download", views.download, name="download"),
]
