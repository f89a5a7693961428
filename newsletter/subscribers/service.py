"""Subscriber lifecycle services (placeholder)."""


def purge_unconfirmed() -> int:
    return 0
