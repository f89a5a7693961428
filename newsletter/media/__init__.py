"""Images hosted here: uploads checked by their content, re-encoded at mail width and served
from our own host at ``/media/<name>`` (``views.bp``), so a mail that shows them loads nothing
from a third party; and the mail layout owners set in the admin (``layout``)."""
