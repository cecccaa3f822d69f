"""The `tracemark` command: one CLI over the ledger, the API service and the scanner."""
