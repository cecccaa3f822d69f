"""A tlog-tiles client written from the C2SP texts alone (tlog-tiles, signed-note, tlog-checkpoint, RFC 9162).

It shares no code with the server: it verifies the checkpoint note with the log's verifier key,
fetches hash tiles over HTTP, recomputes the checkpoint's root from them, and builds and checks
inclusion and consistency proofs from tiles, as a monitor or witness of the log would.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass, field

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["TileClient", "Checkpoint", "ClientError", "tile_path", "verify_inclusion", "verify_consistency"]

HEIGHT = 8
WIDTH = 256


class ClientError(Exception):
    """What the log served does not check out."""


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tile_path(level: int | str, index: int, width: int = WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` with N in 3-digit groups, all but the last prefixed with x."""
    digits = f"{index:d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    encoded = "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])
    return f"tile/{level}/{encoded}" + ("" if width == WIDTH else f".p/{width}")


# --- checkpoints (signed-note + tlog-checkpoint) -------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    text: str


def open_checkpoint(note: str, vkey: str) -> Checkpoint:
    """The checkpoint in ``note``, after checking a signature by the Ed25519 verifier key ``vkey``."""
    name, key_id_hex, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64)
    if key[0] != 0x01 or len(key) != 33:
        raise ClientError("not an Ed25519 verifier key")
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if key_id.hex() != key_id_hex:
        raise ClientError("verifier key id does not match its key")
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise ClientError("note has no signature block")
    text += "\n"
    verified = False
    for line in signatures.removesuffix("\n").split("\n"):
        dash, sig_name, blob_b64 = line.split(" ")
        if dash != "\u2014":
            raise ClientError(f"bad signature line {line!r}")
        blob = base64.b64decode(blob_b64)
        if sig_name == name and blob[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(blob[4:], text.encode())  # raises InvalidSignature
            verified = True
    if not verified:
        raise ClientError("no signature by the log's key")
    origin, size, root, *_ = text.removesuffix("\n").split("\n")
    if size != str(int(size)):
        raise ClientError(f"size line {size!r} is not canonical decimal")
    return Checkpoint(origin, int(size), base64.b64decode(root, validate=True), text)


# --- RFC 9162 proofs over a subtree-hash oracle ----------------------------------------------------


def _largest_power_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class _Tree:
    """MTH(D[lo:hi]) of any range, from a function giving complete aligned subtree hashes."""

    def __init__(self, subtree) -> None:  # noqa: ANN001  (level, index) -> hash
        self.subtree = subtree

    def mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n & (n - 1) == 0 and lo % n == 0:
            return self.subtree(n.bit_length() - 1, lo // n)
        k = _largest_power_below(n)
        return _node(self.mth(lo, lo + k), self.mth(lo + k, hi))

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        """RFC 9162 2.1.3.1 PATH(m, D[lo:hi])."""
        n = hi - lo
        if n == 1:
            return []
        k = _largest_power_below(n)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        """RFC 9162 2.1.4.1 SUBPROOF(m, D[lo:hi], b)."""
        n = hi - lo
        if m == n:
            return [] if whole else [self.mth(lo, hi)]
        k = _largest_power_below(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, whole) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 2.1.3.2."""
    if index >= size:
        raise ClientError("index beyond size")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ClientError("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise ClientError("inclusion proof does not lead to the root")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> None:
    """RFC 9162 2.1.4.2."""
    if first == second:
        if proof or first_root != second_root:
            raise ClientError("equal sizes need an empty proof and equal roots")
        return
    if first == 0 or first > second:
        raise ClientError("no consistency proof between these sizes")
    if not proof:
        raise ClientError("empty consistency proof")
    if first & (first - 1) == 0:
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise ClientError("consistency proof too long")
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise ClientError("consistency proof does not lead to both roots")


# --- the client ------------------------------------------------------------------------------------


@dataclass
class TileClient:
    """Reads a tlog-tiles log at ``prefix`` (ending in ``/``), trusting only ``vkey``."""

    prefix: str
    vkey: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    fetched: dict[str, bytes] = field(default_factory=dict)

    def get(self, path: str, **headers: str) -> httpx.Response:
        return self.http.get(self.prefix + path, headers=headers)

    def checkpoint(self) -> Checkpoint:
        response = self.get("checkpoint")
        response.raise_for_status()
        if response.headers["content-type"] != "text/plain; charset=utf-8":
            raise ClientError(f"checkpoint served as {response.headers['content-type']}")
        return open_checkpoint(response.text, self.vkey)

    def tile(self, level: int, index: int, size: int) -> bytes:
        """Tile ``index`` at ``level`` as a tree of ``size`` leaves has it (full, or its partial width)."""
        hashes_at_level = size >> (HEIGHT * level)
        width = WIDTH if (index + 1) * WIDTH <= hashes_at_level else hashes_at_level - index * WIDTH
        if width <= 0:
            raise ClientError(f"tile {level}/{index} is beyond a tree of {size}")
        path = tile_path(level, index, width)
        if path not in self.fetched:
            response = self.get(path)
            if response.status_code != 200:
                raise ClientError(f"{path}: HTTP {response.status_code}")
            if response.headers["content-type"] != "application/octet-stream":
                raise ClientError(f"{path} served as {response.headers['content-type']}")
            if len(response.content) != 32 * width:
                raise ClientError(f"{path} is {len(response.content)} bytes, want {32 * width}")
            self.fetched[path] = response.content
        return self.fetched[path]

    def tree(self, size: int) -> _Tree:
        """Subtree hashes of a tree of ``size`` leaves, from its tiles: a hash at a Merkle level between
        two tile levels is rebuilt from the tile below it, as tlog-tiles says."""

        def subtree(level: int, index: int) -> bytes:
            if (index + 1) << level > size:
                raise ClientError(f"subtree {level}/{index} is not complete in a tree of {size}")
            tile_level, above = divmod(level, HEIGHT)
            first = index << above  # the first tile-level hash under it
            data = self.tile(tile_level, first // WIDTH, size)
            at = first % WIDTH
            layer = [data[32 * i : 32 * i + 32] for i in range(at, at + (1 << above))]
            while len(layer) > 1:
                layer = [_node(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
            return layer[0]

        return _Tree(subtree)

    def root(self, size: int) -> bytes:
        return self.tree(size).mth(0, size)

    def inclusion(self, index: int, size: int) -> tuple[bytes, list[bytes]]:
        """The leaf hash of entry ``index`` and its inclusion proof in the tree of ``size``, from tiles."""
        tree = self.tree(size)
        return tree.subtree(0, index), tree.path(index, 0, size)

    def consistency(self, old: int, new: int) -> list[bytes]:
        return self.tree(new).subproof(old, 0, new, True) if 0 < old < new else []

    def entries(self, index: int, size: int, **headers: str) -> list[bytes]:
        """The entries of bundle ``index`` in a tree of ``size``, each checked against its level-0 tile hash."""
        leaves = self.tile(0, index, size)
        width = len(leaves) // 32
        response = self.get(tile_path("entries", index, width), **headers)
        if response.status_code != 200:
            raise ClientError(f"entry bundle {index}: HTTP {response.status_code}")
        data, entries = response.content, []
        while data:
            (length,) = struct.unpack(">H", data[:2])
            entries.append(data[2 : 2 + length])
            data = data[2 + length :]
        if len(entries) != width:
            raise ClientError(f"entry bundle {index} holds {len(entries)} entries, want {width}")
        for i, entry in enumerate(entries):
            if _leaf(entry) != leaves[32 * i : 32 * i + 32]:
                raise ClientError(f"entry {index * WIDTH + i} does not hash to its leaf in the level-0 tile")
        return entries
