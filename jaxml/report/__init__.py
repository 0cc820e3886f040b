"""jaxml.report."""
