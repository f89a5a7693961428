"""Admin accounts: passwords and sessions (``service``), login failures counted per account
(``throttle``), the audit log of what admins do (``audit``) and ``newsletter create-admin``
(``commands``)."""
