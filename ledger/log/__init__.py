"""The log itself: entries and their bytes, the RFC 9162 Merkle tree, signed checkpoints, keys and signatures."""
