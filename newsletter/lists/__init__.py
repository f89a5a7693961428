"""Mailing lists: the service the admin pages and the API call (``service``) and the
``newsletter lists`` commands (``commands``)."""
