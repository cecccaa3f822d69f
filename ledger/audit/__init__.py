"""Checking a log from its raw entries, its times and its anchors on the chain, trusting nothing stored."""
