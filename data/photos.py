"""Uploaded photos: decoded with Pillow (JPEG, PNG, WebP only), size- and pixel-limited before
decoding, turned upright by their EXIF orientation, scaled to at most 2560 px and re-encoded from
the bare pixels, so no EXIF (GPS included), ICC or text chunk of the upload survives.

Stored under random names in <instance>/photos/u/YYYY/MM/ (outside every static folder) and served
only by /photos/<ref>, which asks `visible_ticket` whether the viewer may see a ticket that
carries the photo. Refs are paths relative to <instance>/photos (the demo's are demo/site-N.jpg).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import AccessDenied, Viewer, load_ticket
from data.clock import utcnow
from data.errors import DomainError
from data.intake_tables import UploadedPhoto
from data.models import Ticket, TicketEvent
from data.settings import Settings

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
CONTENT_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
MAX_EDGE = 2560
THUMB_EDGE = 320
REF_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}(/[A-Za-z0-9_-]{1,64}){0,3}\.(jpg|jpeg|png|webp)$")


class PhotoError(DomainError):
    """A refused upload (invalid; too_large or unsupported where that is the reason)."""


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes  # the re-encoded file
    content_type: str
    width: int
    height: int
    upload_sha256: str  # of the bytes as uploaded (identifies the request for idempotency)

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def photo_root(settings: Settings) -> Path:
    return settings.gcc_instance_dir / "photos"


def clean(raw: bytes, *, max_bytes: int, max_pixels: int, label: str = "photo") -> CleanPhoto:
    """Decode, check and re-encode one upload; PhotoError says what is wrong with it."""
    if len(raw) > max_bytes:
        raise PhotoError(
            "photo_too_large", f"{label} is {len(raw) / 1e6:.1f} MB; at most {max_bytes / 1e6:g} MB", kind="too_large"
        )
    if not raw:
        raise PhotoError("photo_empty", f"{label} is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(raw), formats=list(FORMATS))
        except UnidentifiedImageError:
            raise PhotoError("photo_type", f"{label} is not a JPEG, PNG or WebP image", kind="unsupported") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoError("photo_pixels", f"{label} has too many pixels (at most {max_pixels:,})") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise PhotoError("photo_damaged", f"{label} cannot be read: {exc}") from None
        width, height = img.size
        if width * height > max_pixels:
            raise PhotoError(
                "photo_pixels", f"{label} is {width}x{height} pixels; at most {max_pixels:,} pixels in all"
            )
        try:
            if img.format == "JPEG":
                img.draft("RGB", (MAX_EDGE, MAX_EDGE))  # decode at a reduced scale: bounded memory
            img.load()
            img = ImageOps.exif_transpose(img)
            img.thumbnail((MAX_EDGE, MAX_EDGE))
            data, content_type, size = _reencode(img)
        except (OSError, SyntaxError, ValueError, TypeError, KeyError, Image.DecompressionBombError) as exc:
            raise PhotoError("photo_damaged", f"{label} is truncated or damaged: {exc}") from None
        finally:
            img.close()
    return CleanPhoto(data, content_type, size[0], size[1], hashlib.sha256(raw).hexdigest())


def _reencode(img: Image.Image) -> tuple[bytes, str, tuple[int, int]]:
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    mode = "RGBA" if has_alpha else "RGB"
    pixels = img.convert(mode)
    # A new image from the bare pixels: nothing of the upload's metadata (info, EXIF, ICC) comes along.
    bare = Image.frombytes(mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if has_alpha:
        bare.save(out, "PNG", optimize=False)
        return out.getvalue(), "image/png", bare.size
    bare.save(out, "JPEG", quality=85)  # optimize=True triples the encode time for ~5 % smaller files
    return out.getvalue(), "image/jpeg", bare.size


def store(settings: Settings, photo: CleanPhoto) -> str:
    """Write a cleaned photo under a random name; returns its ref."""
    now = utcnow()
    ref = f"u/{now:%Y}/{now:%m}/{secrets.token_hex(16)}.{photo.extension}"
    path = photo_root(settings) / ref
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(photo.data)
    os.replace(tmp, path)
    return ref


def discard(settings: Settings, refs: list[str]) -> None:
    """Remove files written for a request that then failed (nothing of it is kept)."""
    for ref in refs:
        path = resolve(settings, ref)
        if path is not None:
            path.unlink(missing_ok=True)


def record(session: Session, ticket_id: int, stage: str, refs_and_photos: list[tuple[str, CleanPhoto]]) -> None:
    for ref, photo in refs_and_photos:
        session.add(
            UploadedPhoto(
                ref=ref,
                ticket_id=ticket_id,
                stage=stage,
                sha256=hashlib.sha256(photo.data).hexdigest(),
                content_type=photo.content_type,
                width=photo.width,
                height=photo.height,
                size=len(photo.data),
                created_at=utcnow(),
            )
        )


def resolve(settings: Settings, ref: str) -> Path | None:
    """The file of a ref, or None for a malformed ref or one outside the photo folder."""
    if not REF_PATTERN.match(ref):
        return None
    root = photo_root(settings).resolve()
    path = (root / ref).resolve()
    if root not in path.parents:
        return None
    return path if path.is_file() else None


def content_type(ref: str) -> str:
    return CONTENT_TYPES[ref.rsplit(".", 1)[-1].lower()]


def thumbnail(settings: Settings, ref: str) -> Path | None:
    """A JPEG of at most THUMB_EDGE px for lists, made once and kept beside the photos."""
    source = resolve(settings, ref)
    if source is None:
        return None
    thumb = photo_root(settings) / "thumbs" / (ref.rsplit(".", 1)[0] + ".jpg")
    if thumb.is_file() and thumb.stat().st_mtime >= source.stat().st_mtime:
        return thumb
    thumb.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source, formats=list(FORMATS)) as img:
        img.draft("RGB", (THUMB_EDGE, THUMB_EDGE))
        small = img.convert("RGB")
        small.thumbnail((THUMB_EDGE, THUMB_EDGE))
        tmp = thumb.with_name(f"{thumb.stem}.{secrets.token_hex(4)}.part")
        small.save(tmp, "JPEG", quality=75)
    os.replace(tmp, thumb)
    return thumb


def visible_ticket(session: Session, viewer: Viewer, ref: str, *, ticket_id: int | None = None) -> Ticket | None:
    """The ticket carrying photo `ref` if the viewer may see it, else None.

    An uploaded photo knows its ticket; a photo from elsewhere (the demo's shared pictures) is
    looked up on the ticket the request names (`ticket_id`) or the resident's token names."""
    row = session.get(UploadedPhoto, ref)
    if row is not None:
        ticket_id = row.ticket_id
    if ticket_id is None and viewer.role == "resident" and viewer.ticket_token:
        ticket_id = session.scalar(select(Ticket.id).where(Ticket.public_token == viewer.ticket_token))
    if ticket_id is None:
        return None
    try:
        ticket = load_ticket(session, viewer, ticket_id)
    except AccessDenied:
        return None
    if ref in (ticket.photos or []):
        return ticket
    for photos in session.scalars(select(TicketEvent.photos).where(TicketEvent.ticket_id == ticket.id)):
        if ref in (photos or []):
            return ticket
    return None
