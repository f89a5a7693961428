"""Subscribers: the people on the lists, and the public pages they use.

``signup`` (the one-statement signup and a new link) and ``service`` (confirmation,
preferences, unsubscribe) are what views, the CLI and jobs call, with ``consent`` keeping
the proof of each; ``tokens`` and ``links`` make the signed links in their mails; ``privacy``
(export, erase) and ``retention`` (unconfirmed signups, consent IPs) keep the data rules;
``suppression`` is the do-not-mail list; ``browse`` and ``figures`` answer the admin's
questions; ``commands`` holds ``newsletter export-subscriber`` and ``newsletter erase``.

``bp`` is the public blueprint; its routes are in ``views``, which the app factory imports
(not this package: mail rendering and jobs import ``links`` and ``tokens`` without pulling
in the pages).
"""

from flask import Blueprint

bp = Blueprint("subscribers", __name__)
