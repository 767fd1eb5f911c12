"""Reading a request's body: a JSON object or form fields, and the photo files of a multipart
upload, each cleaned by data.photos before anything is stored."""

from __future__ import annotations

from flask import request

from dashboard.api.errors import ApiError
from dashboard.common import context
from data import photos

PHOTO_FIELDS = ("photos", "photo", "media")  # ours, the singular, and Open311's (FixMyStreet) name


def limits() -> tuple[int, int, int]:
    settings = context.settings()
    return int(settings.gcc_photo_max_mb * 1_000_000), settings.gcc_photo_max_pixels, settings.gcc_photos_per_ticket


def allow_upload_size() -> None:
    """Let this request's body be as large as its photos may be together (Flask's default is
    unlimited; the auth layer may set a small one for forms)."""
    max_bytes, _, count = limits()
    request.max_content_length = max_bytes * count + 2_000_000


def fields(*, ignore: tuple[str, ...] = ()) -> dict:
    """The request's fields as a dict: a JSON object, or form fields (empty ones left out, as a
    browser sends an empty field for "not given"). 415 for any other body."""
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "bad_json", "the body must be a JSON object")
        return {k: v for k, v in body.items() if k not in ignore}
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        out = {}
        for name in request.form:
            if name in ignore:
                continue
            values = request.form.getlist(name)
            if len(values) > 1:
                raise ApiError(422, "invalid_request", f"field {name!r} is given {len(values)} times")
            if values[0] != "":
                out[name] = values[0]
        return out
    if not request.get_data(cache=True) and not request.mimetype:
        return {}
    raise ApiError(415, "unsupported_media_type", "send application/json, multipart/form-data or x-www-form-urlencoded")


def cleaned_photos() -> list[photos.CleanPhoto]:
    """Every uploaded photo, decoded and cleaned; the first bad one refuses the whole request."""
    if request.mimetype != "multipart/form-data":
        return []
    max_bytes, max_pixels, count = limits()
    files = [f for name in PHOTO_FIELDS for f in request.files.getlist(name) if f.filename or f.content_length]
    unknown = [name for name in request.files if name not in PHOTO_FIELDS]
    if unknown:
        raise ApiError(422, "invalid_request", f"unexpected file field(s): {', '.join(sorted(unknown))}")
    if len(files) > count:
        raise ApiError(422, "too_many_photos", f"at most {count} photos per request")
    out = []
    for i, storage in enumerate(files, start=1):
        raw = storage.stream.read(max_bytes + 1)
        label = f"photo {i} ({storage.filename or 'unnamed'})"[:80]
        if not raw:
            continue
        out.append(photos.clean(raw, max_bytes=max_bytes, max_pixels=max_pixels, label=label))
    return out
