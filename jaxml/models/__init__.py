"""jaxml.models."""
