"""Small images with identifying metadata, made with Pillow, for the evidence-cleaning tests."""

from __future__ import annotations

import io

from PIL import ExifTags, Image, PngImagePlugin

GPS = {1: "N", 2: (43.0, 14.0, 2.4), 3: "E", 4: (76.0, 53.0, 10.2)}
OWNER = "Aigerim Sultanova"


def picture(width: int = 64, height: int = 48) -> Image.Image:
    """A picture with detail in every pixel, so any re-encoding would show."""
    image = Image.new("RGB", (width, height))
    image.putdata(
        [(x * 4 % 256, y * 5 % 256, (x * y) % 256) for y in range(height) for x in range(width)]
    )
    return image


def camera_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Samsung"
    exif[ExifTags.Base.Model] = "SM-A515F"
    exif[ExifTags.Base.Artist] = OWNER
    exif[ExifTags.Base.DateTime] = "2026:11:03 22:15:30"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = GPS
    return exif


def jpeg_with_gps(*, progressive: bool = False, trailer: bytes = b"") -> bytes:
    """A phone photo as sent "as a file": EXIF with GPS, XMP, a comment, an IPTC block."""
    buffer = io.BytesIO()
    picture().save(
        buffer,
        "JPEG",
        quality=90,
        progressive=progressive,
        exif=camera_exif(),
        xmp=f"<x:xmpmeta><dc:creator>{OWNER}</dc:creator></x:xmpmeta>".encode(),
        comment=OWNER.encode(),
    )
    data = buffer.getvalue()
    iptc = b"Photoshop 3.0\x00" + b"8BIM\x04\x04\x00\x00\x00\x00\x00\x10" + OWNER.encode()[:16]
    app13 = b"\xff\xed" + (len(iptc) + 2).to_bytes(2, "big") + iptc
    return data[:2] + app13 + data[2:] + trailer


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", OWNER)
    info.add_itxt("Location", "43.234, 76.887")
    buffer = io.BytesIO()
    picture().save(buffer, "PNG", pnginfo=info, exif=camera_exif(1))
    return buffer.getvalue()


def webp_with_exif() -> bytes:
    buffer = io.BytesIO()
    picture().save(
        buffer,
        "WEBP",
        lossless=False,
        quality=80,
        exif=camera_exif(1),
        xmp=f"<x:xmpmeta>{OWNER}</x:xmpmeta>".encode(),
    )
    return buffer.getvalue()


def pixels(data: bytes) -> bytes:
    """The decoded pixels of an image."""
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


def metadata(data: bytes) -> tuple[dict[int, object], dict[int, object], dict[str, object]]:
    """(EXIF tags, GPS tags, Pillow's info by name) of an image."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        info = {str(key): value for key, value in image.info.items()}
        return dict(exif), dict(exif.get_ifd(ExifTags.IFD.GPSInfo)), info


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` pixels, with almost no picture data:
    the shape of a decompression bomb (whatever reads its pixels pays for the declared size)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def large_blank_png(side: int = 9000) -> bytes:
    """A real PNG of ``side`` x ``side`` pixels (81 megapixels by default) in under 100 kB."""
    buffer = io.BytesIO()
    Image.new("L", (side, side)).save(buffer, "PNG")
    return buffer.getvalue()


def large_noisy_jpeg(width: int = 3000, height: int = 2500) -> bytes:
    """A photo-sized JPEG of noise (about 9 MB): the most scan data a camera could write."""
    import os

    buffer = io.BytesIO()
    noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    noise.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()
