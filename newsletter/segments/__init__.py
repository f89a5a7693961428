"""Segments, named saved filters over subscribers: the rule trees and their SQL (``rules``),
the service the admin, the API and issue targeting call (``service``) and the
``newsletter segments`` commands (``commands``)."""
