"""Tracemark's core library: signed events in a hash-chained RFC 9162 Merkle log.

No web framework and no chain client is imported here; `ledger.anchoring.contract` is the only module
that talks to Ethereum, and it is imported only by those who anchor.
"""

from ledger import recursion  # noqa: F401  (first: py_ecc's import must not leave the recursion limit raised)
