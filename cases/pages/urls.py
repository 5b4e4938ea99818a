"""URLs of the analysts' read-only pages, mounted at /cases/."""

from functools import partial

from django.urls import path

from cases.pages import brief, views
from cases.tasks.pages import my_work

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("export.csv", partial(views.case_export, export_format="csv"), name="export-csv"),
    path("export.xlsx", partial(views.case_export, export_format="xlsx"), name="export-xlsx"),
    path("my-work/", my_work, name="my-work"),
    path("<uuid:case_uuid>/", views.case_detail, name="detail"),
    path("<uuid:case_uuid>/brief.pdf", brief.case_brief, name="brief"),
]
