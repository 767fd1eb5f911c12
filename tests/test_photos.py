"""Photo safety (issue #5): only JPEG/PNG/WebP, size and pixel limits before decoding, truncated
files refused, EXIF orientation applied and every EXIF byte (GPS included) gone from the stored
file; a refused upload stores nothing; /photos/<ref> serves only to who may see the ticket."""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin
from sqlalchemy import func, select

from data import photos
from data.intake_tables import UploadedPhoto
from data.models import Ticket
from tests.api_fixtures import assert_error, jpeg_bytes, make_client, new_key, point_in

LIMITS = dict(max_bytes=10_000_000, max_pixels=40_000_000)


def exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[274] = 6  # orientation: rotate 90° clockwise to view
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (25.0, 57.0, 40.0), 3: "E", 4: (115.0, 24.0, 31.0)})
    return exif


def encoded(fmt: str, size=(60, 40), mode="RGB", **kwargs) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, 128 if mode in ("L", "1", "P") else (90, 120, 150)).save(out, fmt, **kwargs)
    return out.getvalue()


def stored_image(photo: photos.CleanPhoto) -> Image.Image:
    img = Image.open(io.BytesIO(photo.data))
    img.load()
    return img


def test_exif_orientation_is_applied_and_all_exif_including_gps_is_removed():
    raw = jpeg_bytes(size=(80, 40), exif=exif_with_gps())
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the upload does carry GPS
    photo = photos.clean(raw, **LIMITS)
    img = stored_image(photo)
    assert img.size == (40, 80)  # turned upright
    assert dict(img.getexif()) == {} and "exif" not in img.info
    assert b"Exif" not in photo.data and b"PhoneMaker" not in photo.data


def test_png_text_chunks_and_webp_metadata_are_dropped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address: 幸福路 1 号")
    png = photos.clean(encoded("PNG", pnginfo=info, exif=exif_with_gps()), **LIMITS)
    assert b"home address" not in png.data and dict(stored_image(png).getexif()) == {}
    webp = photos.clean(encoded("WEBP", exif=exif_with_gps()), **LIMITS)
    assert webp.content_type == "image/jpeg" and dict(stored_image(webp).getexif()) == {}
    transparent = photos.clean(encoded("PNG", mode="RGBA"), **LIMITS)
    assert transparent.content_type == "image/png"


@pytest.mark.parametrize(
    "raw, code, status",
    [
        (jpeg_bytes(size=(400, 300))[:700], "photo_damaged", 422),  # truncated
        (encoded("PNG", size=(300, 200))[:-40], "photo_damaged", 422),  # truncated (no IEND, short IDAT)
        (encoded("GIF"), "photo_type", 415),
        (encoded("BMP"), "photo_type", 415),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "photo_type", 415),
        (b"%PDF-1.4 not an image", "photo_type", 415),
        (b"", "photo_empty", 422),
    ],
)
def test_bad_files_are_refused_with_a_reason(raw, code, status):
    with pytest.raises(photos.PhotoError) as e:
        photos.clean(raw, **LIMITS)
    assert (e.value.code, e.value.status) == (code, status)
    assert str(e.value)


def test_decompression_bombs_are_refused_before_decoding():
    bomb = encoded("PNG", size=(12000, 12000), mode="1")  # 144 Mpx in a few kB
    assert len(bomb) < 100_000
    with pytest.raises(photos.PhotoError) as e:
        photos.clean(bomb, **LIMITS)
    assert e.value.code == "photo_pixels"
    under_pillows_default = encoded("PNG", size=(7000, 7000), mode="1")  # 49 Mpx < Pillow's 89 Mpx
    with pytest.raises(photos.PhotoError) as e:
        photos.clean(under_pillows_default, **LIMITS)
    assert e.value.code == "photo_pixels"


def test_too_large_files_are_refused_unread():
    with pytest.raises(photos.PhotoError) as e:
        photos.clean(b"\xff\xd8" + b"0" * 10_000_001, **LIMITS)
    assert (e.value.code, e.value.status) == ("photo_too_large", 413)


def test_big_photos_are_scaled_down():
    photo = photos.clean(jpeg_bytes(size=(5000, 3000)), **LIMITS)
    assert max(photo.width, photo.height) == photos.MAX_EDGE


# --- over HTTP -------------------------------------------------------------------------------


@pytest.fixture
def api(db, settings, district):
    client = make_client(db, settings)
    client.auth = {"X-Api-Key": new_key(db, "网格通", role="dispatcher", source="patrol")}
    client.settings = settings
    return client


def upload(api, db, district, files, **fields):
    lon, lat = point_in(db, district.grid_ids[0])
    data = {"category": "0101", "lon": str(lon), "lat": str(lat), **fields}
    data["photos"] = [(io.BytesIO(raw), name) for name, raw in files]
    return api.post("/api/v1/tickets", data=data, headers=api.auth, content_type="multipart/form-data")


def stored_files(settings) -> list:
    root = settings.gcc_instance_dir / "photos"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def nothing_stored(db, settings):
    with db.reader() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 0
        assert s.scalar(select(func.count()).select_from(UploadedPhoto)) == 0
    assert stored_files(settings) == []


def test_multipart_report_with_photos_stores_clean_files(api, db, district, settings):
    r = upload(api, db, district, [("a.jpg", jpeg_bytes(exif=exif_with_gps())), ("b.png", encoded("PNG"))])
    assert r.status_code == 201, r.get_json()
    detail = api.get(f"/api/v1/tickets/{r.get_json()['ticket_id']}", headers=api.auth).get_json()
    assert len(detail["photos"]) == 2
    for path in stored_files(settings):
        assert "static" not in path.parts
        with Image.open(path) as img:
            assert dict(img.getexif()) == {} and "exif" not in img.info
        assert path.stem not in ("a", "b")  # random names, not the uploader's
    got = api.get(detail["photos"][0]["url"], headers=api.auth)
    assert (
        got.status_code == 200 and got.mimetype == "image/jpeg" and got.headers["X-Content-Type-Options"] == "nosniff"
    )
    thumb = api.get(detail["photos"][0]["thumb_url"], headers=api.auth)
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= photos.THUMB_EDGE


@pytest.mark.parametrize(
    "files, status, code",
    [
        ([("ok.jpg", jpeg_bytes()), ("cut.jpg", jpeg_bytes(size=(400, 300))[:700])], 422, "photo_damaged"),
        ([("x.gif", encoded("GIF"))], 415, "photo_type"),
        ([("bomb.png", encoded("PNG", size=(12000, 12000), mode="1"))], 422, "photo_pixels"),
        ([("big.jpg", b"\xff\xd8" + b"0" * 10_000_001)], 413, "photo_too_large"),
        ([(f"{i}.jpg", jpeg_bytes()) for i in range(10)], 422, "too_many_photos"),
    ],
)
def test_a_bad_upload_is_refused_and_nothing_is_stored(api, db, district, settings, files, status, code):
    body = assert_error(upload(api, db, district, files), status, code)
    assert body["detail"]
    nothing_stored(db, settings)


def test_photos_are_served_only_to_who_may_see_the_ticket(api, db, district, settings):
    r = upload(api, db, district, [("a.jpg", jpeg_bytes())]).get_json()
    ref = api.get(f"/api/v1/tickets/{r['ticket_id']}", headers=api.auth).get_json()["photos"][0]["ref"]
    assert api.get(f"/photos/{ref}").status_code == 404  # anonymous
    assert api.get(f"/photos/{ref}?t={r['token']}").status_code == 200  # the reporter's token
    assert api.get(f"/photos/{ref}?t=AAAAAAAAAAAAAAAA").status_code == 404
    resident_key = {"X-Api-Key": new_key(db, "小程序", role="resident", source="resident")}
    assert api.get(f"/photos/{ref}", headers=resident_key).status_code == 404
    assert_error(api.get(f"/photos/{ref}", headers={"X-Api-Key": "gcc_wrong"}), 401)
    for bad in ("../gcc.sqlite3", "..%2Fgcc.sqlite3", "u/../../gcc.sqlite3", "thumbs/" + ref):
        assert api.get(f"/photos/{bad}", headers=api.auth).status_code == 404
    assert api.post(f"/photos/{ref}", headers=api.auth).status_code == 405


def test_a_shared_demo_photo_is_served_in_the_context_of_a_ticket_carrying_it(api, db, district, settings):
    from data import workflow
    from data.demo.photos import demo_photos
    from tests.helpers import DESK, assignee_viewer

    demo_photos(settings)
    r = upload(api, db, district, []).get_json()
    tid = r["ticket_id"]
    with db.session() as s:
        workflow.apply(s, DESK, tid, workflow.ActionInput("accept"))
        workflow.apply(s, DESK, tid, workflow.ActionInput("dispatch"))
        worker = assignee_viewer(s, s.get(Ticket, tid))
        workflow.apply(s, worker, tid, workflow.ActionInput("respond"))
        workflow.apply(s, worker, tid, workflow.ActionInput("handle", photos=["demo/site-3.jpg"]))
    assert api.get("/photos/demo/site-3.jpg", headers=api.auth).status_code == 404  # which ticket?
    assert api.get(f"/photos/demo/site-3.jpg?ticket={tid}", headers=api.auth).status_code == 200
    assert api.get(f"/photos/demo/site-3.jpg?t={r['token']}").status_code == 200
    assert api.get(f"/photos/demo/site-4.jpg?ticket={tid}", headers=api.auth).status_code == 404  # not on it
    assert api.get(f"/photos/demo/site-3.jpg?ticket={tid}").status_code == 404  # anonymous
