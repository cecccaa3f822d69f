"""Investigations: an item's trace, diversion findings, hotspots, EPCIS export."""
