"""English formats: British, as the site's ``en-gb`` default gave before it had languages.

Day before month everywhere (``25 Oct 2006``, ``25/10/2006``), so a date typed in the admin
as 01/02/2025 is still the first of February, and weeks start on Monday.
"""

from django.conf.locale.en_GB.formats import *  # noqa: F403
