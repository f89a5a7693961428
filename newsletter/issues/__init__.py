"""Issues: writing, test sends and scheduling (``service``), previews and the test-send job
(``preview``), deleting and copying drafts (``drafts``), and the ``newsletter issue`` commands
(``commands``). Sending them is ``newsletter.delivery``'s part."""

# RQ keeps a queued job as the dotted path of its function, and test sends queued before the
# move to issues.preview were stored as ``newsletter.issues.send_test``: that path must still
# find the job when a worker picks one up after an upgrade.
from .preview import send_test

__all__ = ["send_test"]
