"""The local playground: `matgrad serve` (server.py) and its page (static/)."""
