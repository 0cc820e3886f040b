"""jaxml.train."""
