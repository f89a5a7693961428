"""Turning content into mail bytes (render, message) and moving bytes (transports).

Nothing in this package queries the database.
"""
