"""QR markings and the scanner: payload format, rendering, decoding, offline trust bundle, CLI."""
