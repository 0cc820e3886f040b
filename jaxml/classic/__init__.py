"""jaxml.classic."""
