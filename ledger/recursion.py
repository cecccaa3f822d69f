"""Keep the interpreter's recursion limit at its default although py_ecc raises it on import.

py_ecc (pulled in by eth-account) sets the limit to 100,000 when it is imported. With that limit
an input nested deep enough (a JSON body of 200,000 `[`) overflows the C stack inside a recursive
parser and the process dies of a segfault instead of raising RecursionError. The ledger package
imports this module before any of its own, so py_ecc is imported here and the limit set back.
"""

import sys

_LIMIT = sys.getrecursionlimit()

import py_ecc  # noqa: E402, F401  (imported for its side effect on the limit, undone below)

sys.setrecursionlimit(_LIMIT)
