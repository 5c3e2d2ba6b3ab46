"""Identifying metadata taken out of evidence before it is sealed.

A photo sent *as a file* keeps what the camera wrote into it: where it was taken (GPS), when, the
phone's make, model and serial number, sometimes the owner's name, and a thumbnail of the uncropped
original. Any of these can lead back to her. Telegram's own compressed photos carry none of it, but
they go through the same door: nothing here trusts what a client did.

Only the container is rewritten. The compressed picture data is copied byte for byte, so the pixels
a caseworker sees are the pixels she sent: re-encoding (which is all Pillow can do when it saves)
would alter evidence more than privacy needs. Pillow recognises the format (and nothing but these
three formats is parsed, so hostile input meets as little code as possible) and checks the result.

Decided per type:

- **JPEG** (and multi-picture MPO): keep only the segments that draw the picture (frame, tables,
  scan data, JFIF, ICC colour profile, Adobe colour transform); drop EXIF and XMP, IPTC/Photoshop,
  comments, every other application segment, and anything after the end of the image (the second
  picture of an MPO, vendor trailers). The EXIF orientation alone is written back, built by Pillow,
  so the picture still stands the right way up.
- **PNG**: keep the chunks that draw the picture; drop text, time, EXIF and unknown chunks.
- **WebP**: drop the EXIF and XMP chunks and clear their flags.
- **Everything else** (HEIC, PDF, office documents, voice messages, video, a file that does not
  parse) is kept exactly as sent and marked not cleaned: a broken file is worse evidence than a
  marked one. The evidence screen tells her so before she sends anything.

No pixel is ever decoded: only headers and containers are read (Pillow would decode a whole PNG
to look for EXIF after its picture data, so PNGs are checked chunk by chunk instead). A picture
that declares more than :data:`MAX_PIXELS` is refused before anything else is read
(:class:`TooManyPixels`): a few kilobytes can declare a canvas that would take gigabytes to draw,
in the caseworker's browser if not here. The work is plain CPU on bytes; the bot runs it off its
event loop (bot/cleaning.py).
"""

from __future__ import annotations

import dataclasses
import io
import warnings
from collections.abc import Callable

from PIL import ExifTags, Image

from storage import Attachment

# The formats cleaned here; Pillow is asked to try no other parser on her bytes. (Its JPEG parser
# also opens multi-picture files, which it then calls MPO.)
_FORMATS = ("JPEG", "PNG", "WEBP")
_EXTENSION = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp"}
_MIME = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Pillow keys that would mean identifying metadata survived.
_LEFT_BEHIND = ("xmp", "XML:com.adobe.xmp", "comment", "photoshop", "mp", "mpinfo")


# The most pixels a picture may declare: above the 108-megapixel mode of today's phone cameras
# (whose photos still fit the 20 MB a bot may download); a larger canvas is a decompression bomb.
MAX_PIXELS = 120_000_000


class NotCleanable(ValueError):
    """The bytes are not an image this module can clean; they are kept as sent."""


class TooManyPixels(ValueError):
    """The picture declares more than :data:`MAX_PIXELS` pixels: refused, not kept."""


def clean_attachment(attachment: Attachment) -> Attachment:
    """``attachment`` with identifying metadata removed and ``cleaned`` set, or as sent.

    A cleaned image also gets a neutral name: a camera's file name is the moment it was taken.
    Raises :class:`TooManyPixels` for a picture too large to be taken at all.
    """
    try:
        data, image_format = strip_metadata(attachment.data)
    except NotCleanable:
        return dataclasses.replace(attachment, cleaned=False)
    name = attachment.name
    if attachment.kind == "document":
        name = f"image.{_EXTENSION[image_format]}"
    return dataclasses.replace(
        attachment, data=data, mime=_MIME[image_format], name=name, cleaned=True
    )


def strip_metadata(data: bytes) -> tuple[bytes, str]:
    """The image in ``data`` without its metadata, and its format (``JPEG``, ``PNG``, ``WEBP``).

    Raises :class:`NotCleanable` for anything that is not one of these images, or that does not
    survive its own check afterwards.
    """
    image_format, size, orientation = _identify(data)
    strip: Callable[[bytes, int | None], bytes] = _STRIPPERS[image_format]
    try:
        stripped = strip(data, orientation)
    except (IndexError, ValueError) as exc:
        raise NotCleanable(f"{image_format} structure not understood") from exc
    _verify(stripped, size)
    return stripped, "JPEG" if image_format == "MPO" else image_format


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        # Only the header is read, never the pixels: a huge canvas costs nothing here.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=_FORMATS)


def _identify(data: bytes) -> tuple[str, tuple[int, int], int | None]:
    try:
        with _open(data) as image:
            image_format = str(image.format)
            size = image.size
            # Only a JPEG's orientation is written back; asking a PNG would decode it.
            orientation = _orientation(image) if image_format in ("JPEG", "MPO") else None
    except Image.DecompressionBombError as exc:  # Pillow's own limit, past twice its warning
        raise TooManyPixels("past Pillow's limit") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise NotCleanable("not a JPEG, PNG or WebP image") from exc
    if size[0] * size[1] > MAX_PIXELS:
        raise TooManyPixels(f"{size[0]} x {size[1]} pixels")
    if image_format not in _STRIPPERS:
        raise NotCleanable(f"{image_format} is not cleaned")
    upright = orientation if isinstance(orientation, int) and 2 <= orientation <= 8 else None
    return image_format, size, upright


def _orientation(image: Image.Image) -> object:
    try:
        return image.getexif().get(ExifTags.Base.Orientation)
    except Exception:  # a malformed EXIF block is dropped whole anyway
        return None


def _verify(stripped: bytes, size: tuple[int, int]) -> None:
    try:
        with _open(stripped) as image:
            if image.format == "PNG":  # Pillow's getexif would decode it: read the chunks
                exif_ok = _png_chunk_kinds(stripped) <= _PNG_KEEP
            else:
                exif = image.getexif()
                exif_ok = set(exif) <= {ExifTags.Base.Orientation} and not exif.get_ifd(
                    ExifTags.IFD.GPSInfo
                )
            ok = (
                image.size == size
                and exif_ok
                and not any(key in image.info for key in _LEFT_BEHIND)
            )
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise NotCleanable("the cleaned image does not open") from exc
    if not ok:
        raise NotCleanable("metadata survived cleaning")


# --- JPEG: a sequence of marker segments, then entropy-coded scan data --------------------------

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
# Application segments worth keeping, by their identifier: the picture's colours depend on them.
_KEEP_APP = {0xE0: b"JFIF\x00", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    if 0xC0 <= marker <= 0xCF or marker in (0xDB, 0xDC, 0xDD):  # frames, tables, restart interval
        return True
    prefix = _KEEP_APP.get(marker)
    return prefix is not None and payload.startswith(prefix)


def _orientation_segment(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    payload = exif.tobytes()  # starts with the "Exif\0\0" identifier
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def _scan_end(data: bytes, pos: int) -> int:
    """Index of the first marker after entropy-coded data starting at ``pos``."""
    while True:
        pos = data.index(b"\xff", pos)
        follower = data[pos + 1]
        if follower == 0x00 or 0xD0 <= follower <= 0xD7:  # a stuffed byte or a restart marker
            pos += 2
        elif follower == 0xFF:  # fill bytes before a marker
            pos += 1
        else:
            return pos


def _strip_jpeg(data: bytes, orientation: int | None) -> bytes:
    if data[0] != 0xFF or data[1] != _SOI:
        raise ValueError("no start of image")
    out = [data[:2]]
    upright = _orientation_segment(orientation) if orientation else b""
    pos = 2
    while True:
        if data[pos] != 0xFF:
            raise ValueError("expected a marker")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == _EOI:
            out.append(data[pos : pos + 2])  # and nothing after it: trailers, MPO pictures
            return b"".join(out)
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("segment runs past the end")
        if marker == _SOS:
            end = _scan_end(data, end)
            out.append(data[pos:end])
        elif _keep_jpeg_segment(marker, data[pos + 4 : end]):
            out.append(data[pos:end])
            if marker == 0xE0 and upright:  # after JFIF, which must come first
                out.append(upright)
                upright = b""
        if upright and marker != 0xE0:
            out.insert(1, upright)
            upright = b""
        pos = end


# --- PNG: a signature, then length / type / data / CRC chunks ------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"cHRM",
    b"gAMA",
    b"iCCP",
    b"sBIT",
    b"sRGB",
    b"cICP",
    b"mDCV",
    b"cLLI",
    b"bKGD",
    b"pHYs",
    b"acTL",
    b"fcTL",
    b"fdAT",
}


def _png_chunk_kinds(data: bytes) -> set[bytes]:
    """The kinds of chunk in a PNG (read up to its end, or as far as it goes)."""
    kinds: set[bytes] = set()
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        kind = data[pos + 4 : pos + 8]
        kinds.add(kind)
        if kind == b"IEND":
            break
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")
    return kinds


def _strip_png(data: bytes, _orientation: int | None) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("no PNG signature")
    out = [_PNG_SIGNATURE]
    pos = len(_PNG_SIGNATURE)
    while True:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if len(kind) != 4 or end > len(data):
            raise ValueError("chunk runs past the end")
        if kind in _PNG_KEEP:
            out.append(data[pos:end])  # copied whole, so its CRC stays valid
        if kind == b"IEND":
            return b"".join(out)
        pos = end


# --- WebP: a RIFF container of chunks ------------------------------------------------------------

_WEBP_KEEP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _strip_webp(data: bytes, _orientation: int | None) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("no WebP header")
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data):
        raise ValueError("RIFF runs past the end")
    chunks: list[bytes] = []
    pos = 12
    while pos < riff_end:
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        end = pos + 8 + size + (size & 1)  # chunks are padded to an even length
        if len(kind) != 4 or end > riff_end:
            raise ValueError("chunk runs past the end")
        if kind == b"VP8X":
            flags = data[pos + 8] & ~(_VP8X_EXIF | _VP8X_XMP)
            chunks.append(data[pos : pos + 8] + bytes([flags]) + data[pos + 9 : end])
        elif kind in _WEBP_KEEP:
            chunks.append(data[pos:end])
        pos = end
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


_STRIPPERS: dict[str, Callable[[bytes, int | None], bytes]] = {
    "JPEG": _strip_jpeg,
    "MPO": _strip_jpeg,
    "PNG": _strip_png,
    "WEBP": _strip_webp,
}
