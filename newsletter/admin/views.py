"""Views (placeholder until implemented)."""
