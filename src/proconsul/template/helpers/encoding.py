"""Base64 (Go's encoding/base64, with its error offsets) and hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from ._go import want_str

_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class CorruptInputError(ValueError):
    def __init__(self, offset: int) -> None:
        super().__init__(f"illegal base64 data at input byte {offset}")


def go_b64decode(text: str, alphabet: str = _STD) -> bytes:
    """base64.Encoding.DecodeString with padding, as Go decodes it (CR and LF are skipped)."""
    src = text.encode()
    table = {ord(c): i for i, c in enumerate(alphabet)}
    out = bytearray()
    si = 0
    n = len(src)
    while True:
        dbuf = [0, 0, 0, 0]
        dlen = 4
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                raise CorruptInputError(si - j)
            ch = src[si]
            si += 1
            if ch in table:
                dbuf[j] = table[ch]
                j += 1
                continue
            if ch in (0x0A, 0x0D):
                continue
            if ch != ord("="):
                raise CorruptInputError(si - 1)
            # padding
            if j in (0, 1):
                raise CorruptInputError(si - 1)
            if j == 2:
                while si < n and src[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    raise CorruptInputError(n)
                if src[si] != ord("="):
                    raise CorruptInputError(si - 1)
                si += 1
            while si < n and src[si] in (0x0A, 0x0D):
                si += 1
            if si < n:
                raise CorruptInputError(si)
            dlen = j
            break
        val = dbuf[0] << 18 | dbuf[1] << 12 | dbuf[2] << 6 | dbuf[3]
        chunk = bytes(((val >> 16) & 0xFF, (val >> 8) & 0xFF, val & 0xFF))
        out += chunk[: dlen - 1]
        if dlen < 4:
            return bytes(out)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def base64_decode(text: Any) -> str:
    try:
        return _text(go_b64decode(want_str(text)))
    except CorruptInputError as exc:
        raise ValueError(f"base64Decode: {exc}") from None


def base64_encode(text: Any) -> str:
    return base64.b64encode(want_str(text).encode()).decode()


def base64_url_decode(text: Any) -> str:
    try:
        return _text(go_b64decode(want_str(text), _URL))
    except CorruptInputError as exc:
        raise ValueError(f"base64URLDecode: {exc}") from None


def base64_url_encode(text: Any) -> str:
    return base64.urlsafe_b64encode(want_str(text).encode()).decode()


def sha256_hex(text: Any) -> str:
    return hashlib.sha256(want_str(text).encode()).hexdigest()


def md5sum(text: Any) -> str:
    return hashlib.md5(want_str(text).encode()).hexdigest()


def hmac_sha256_hex(message: Any, key: Any) -> str:
    """HMAC-SHA256 of `message` under `key`; so `{{ "key" | hmacSHA256Hex "message" }}`."""
    return hmac.new(want_str(key).encode(), want_str(message).encode(), hashlib.sha256).hexdigest()


FUNCS = {
    "base64Decode": base64_decode,
    "base64Encode": base64_encode,
    "base64URLDecode": base64_url_decode,
    "base64URLEncode": base64_url_encode,
    "sha256Hex": sha256_hex,
    "md5sum": md5sum,
    "hmacSHA256Hex": hmac_sha256_hex,
}
