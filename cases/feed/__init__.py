"""The change feed for other systems.

:mod:`~cases.feed.cursor` holds feed order, the visibility watermark and the opaque cursor;
:mod:`~cases.feed.documents` what an event looks like (the documented serializer and the
page's fast paths); :mod:`~cases.feed.views` the feed and one case's timeline over HTTP.
"""
