"""Evidence loses what identifies her (location, device, owner, times), never its pixels."""

from __future__ import annotations

import time

import pytest
from PIL import ExifTags

from bot.evidence import NotCleanable, TooManyPixels, clean_attachment, strip_metadata
from storage import Attachment
from tests.bot.evidence_images import (
    OWNER,
    jpeg_with_gps,
    large_blank_png,
    metadata,
    pixels,
    png_declaring,
    png_with_text,
    webp_with_exif,
)

PDF = b"%PDF-1.4\n1 0 obj << /Author (Aigerim Sultanova) >> endobj\n%%EOF\n"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def test_a_jpeg_sent_as_a_file_loses_gps_device_owner_and_time_not_pixels() -> None:
    original = jpeg_with_gps()
    exif, gps, info = metadata(original)
    assert gps and exif[ExifTags.Base.Model] == "SM-A515F" and "xmp" in info  # what she sent
    cleaned = clean_attachment(
        Attachment("document", "image/jpeg", "IMG_20261103_221530.jpg", original)
    )
    assert cleaned.cleaned is True
    assert cleaned.name == "image.jpg" and cleaned.mime == "image/jpeg"
    exif, gps, info = metadata(cleaned.data)
    assert gps == {}
    assert exif == {ExifTags.Base.Orientation: 6}  # still stands the right way up
    assert not {"xmp", "comment", "photoshop"} & set(info)
    assert OWNER.encode() not in cleaned.data and b"SM-A515F" not in cleaned.data
    assert pixels(cleaned.data) == pixels(original)


@pytest.mark.parametrize("progressive", [False, True])
def test_progressive_jpeg_and_trailers_after_the_picture(progressive: bool) -> None:
    original = jpeg_with_gps(progressive=progressive, trailer=b"SEFT" + OWNER.encode())
    data, image_format = strip_metadata(original)
    assert image_format == "JPEG"
    assert OWNER.encode() not in data and data.endswith(b"\xff\xd9")
    assert pixels(data) == pixels(original)


@pytest.mark.parametrize("make", [png_with_text, webp_with_exif])
def test_png_and_webp_lose_text_and_exif_not_pixels(make: object) -> None:
    original = make()  # type: ignore[operator]
    assert OWNER.encode() in original
    cleaned = clean_attachment(Attachment("document", "application/octet-stream", "x", original))
    assert cleaned.cleaned is True and cleaned.mime in ("image/png", "image/webp")
    assert OWNER.encode() not in cleaned.data and b"76.887" not in cleaned.data
    exif, gps, _ = metadata(cleaned.data)
    assert gps == {} and ExifTags.Base.Model not in exif
    assert pixels(cleaned.data) == pixels(original)


def test_a_photo_keeps_its_neutral_name() -> None:
    cleaned = clean_attachment(Attachment("photo", "image/jpeg", "photo.jpg", jpeg_with_gps()))
    assert cleaned.cleaned and cleaned.name == "photo.jpg"


@pytest.mark.parametrize(
    ("kind", "mime", "data"),
    [
        ("document", "application/pdf", PDF),
        ("document", "image/heic", HEIC),
        ("voice", "audio/ogg", b"OggS\x00\x02" + b"\x00" * 40),
        ("document", "image/jpeg", jpeg_with_gps()[:300]),  # cut short: does not parse
        ("photo", "image/jpeg", b"\xff\xd8\xff\xe0 not really a jpeg"),
    ],
)
def test_what_cannot_be_cleaned_is_kept_exactly_and_marked(
    kind: str, mime: str, data: bytes
) -> None:
    attachment = Attachment(kind, mime, "original name.bin", data)
    kept = clean_attachment(attachment)
    assert kept.cleaned is False
    assert (kept.kind, kept.mime, kept.name, kept.data) == (kind, mime, "original name.bin", data)
    with pytest.raises(NotCleanable):
        strip_metadata(data)


def test_a_multi_picture_file_keeps_only_its_first_picture() -> None:
    import io

    from tests.bot.evidence_images import camera_exif, picture

    buffer = io.BytesIO()
    first, second = picture(), picture(32, 24)
    first.save(buffer, "MPO", save_all=True, append_images=[second], exif=camera_exif())
    original = buffer.getvalue()
    data, image_format = strip_metadata(original)
    assert image_format == "JPEG"
    _, gps, info = metadata(data)
    assert gps == {} and "mp" not in info
    assert len(data) < len(original) and pixels(data) == pixels(original)


def test_a_picture_declaring_too_many_pixels_is_refused_before_anything_is_decoded() -> None:
    """A few hundred bytes can declare a canvas that takes gigabytes to draw: it is refused by
    its header, whether under Pillow's own bomb limit or past it."""
    for side in (11_000, 20_000):  # 121 MP: only ours; 400 MP: Pillow's too
        bomb = png_declaring(side, side)
        assert len(bomb) < 200
        with pytest.raises(TooManyPixels):
            clean_attachment(Attachment(kind="document", mime="image/png", name="x.png", data=bomb))


def test_a_large_png_is_cleaned_without_drawing_its_pixels() -> None:
    """An 81-megapixel PNG: Pillow would decode it (twice) only to look for EXIF after its
    picture data; its chunks are read instead, so cleaning costs what reading the file costs."""
    data = large_blank_png()
    started = time.process_time()
    cleaned = clean_attachment(Attachment(kind="document", mime="image/png", name="x", data=data))
    assert cleaned.cleaned and cleaned.data == data  # nothing to strip: a blank canvas
    assert time.process_time() - started < 0.2  # decoding it took 0.8 s of CPU
