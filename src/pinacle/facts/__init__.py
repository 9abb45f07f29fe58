"""pyinfra facts: a command plus a parser. Every fact exits 0 and encodes absence in its output."""
