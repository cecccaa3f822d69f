"""Federation between national logs: peers, signed requests between them, and what they ask each other.

Each authority runs its own log; peering is a signed `add_peer` event in the local log, so who a
log trusts, and since when, is itself on the record.
"""
