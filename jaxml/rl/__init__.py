"""jaxml.rl."""
