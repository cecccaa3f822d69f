"""Witnesses: this server cosigning other logs' checkpoints (C2SP tlog-witness), and this log gathering the cosignatures of the witnesses it submits to."""
