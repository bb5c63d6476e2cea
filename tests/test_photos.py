"""The photo store: fetching URL photos from a local HTTP server, the limits, states and reasons, the CLI."""

from __future__ import annotations

import hashlib
import struct
import time
from datetime import timedelta

import pytest
import requests
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select, update
from werkzeug import Request, Response

from tests.conftest import article_report, run_cli
from tests.test_intake_cli import SPEC_REQUESTS_JSON  # the specification's example, in this district and decade
from workstation.demo.pictures import picture
from workstation.i18n import set_language
from workstation.models import Case, Photo, PhotoBlob, utcnow
from workstation.services import lifecycle as lc
from workstation.services import photos
from workstation.services.errors import ValidationError
from workstation.services.image_info import image_info
from workstation.services.reports import add_report

PNG = picture(1, "before")
AFTER_PNG = picture(2, "after")
FAST = photos.Limits(timeout_s=0.5, total_s=3.0, attempts=3, backoff_s=0.0, backoff_max_s=0.0, max_bytes=64 * 1024)


def jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


@pytest.fixture(autouse=True)
def _english():
    set_language("en")
    yield
    set_language("zh_CN")


def new_case(db, refs: list[str], key: str = "1") -> int:
    return add_report(db, article_report(external_id=f"PDA-photo-{key}", photos=refs)).case_id


def state_of(db, ref: str) -> Photo:
    with db.read() as s:
        row = s.scalar(select(Photo).where(Photo.key == photos.ref_key(ref)))
    assert row is not None, ref
    return row


def test_image_types_and_sizes_come_from_the_magic_bytes():
    assert image_info(PNG) == photos.ImageInfo("image/png", 240, 180)
    assert image_info(jpeg_header(640, 480)) == photos.ImageInfo("image/jpeg", 640, 480)
    assert image_info(b"GIF89a" + struct.pack("<HH", 32, 16) + b"\x00" * 8).width == 32
    assert image_info(b"<html><body>404 Not Found</body></html>") is None
    assert image_info(b"\x89PNG\r\n\x1a\n") is None  # cut short
    with pytest.raises(photos.PhotoError) as bomb:
        photos.check(jpeg_header(20000, 20000))
    assert bomb.value.code == "too_many_pixels"


def test_a_url_photo_is_fetched_stored_once_and_shown_with_its_size(db, httpserver: HTTPServer):
    httpserver.expect_request("/media/1.jpg").respond_with_data(PNG, content_type="image/jpeg")
    httpserver.expect_request("/media/copy.jpg").respond_with_data(PNG, content_type="image/jpeg")
    url, copy = httpserver.url_for("/media/1.jpg"), httpserver.url_for("/media/copy.jpg")
    cid = new_case(db, [url, copy])
    before = photos.case_photos(db, cid)
    assert [(v.kind, v.state) for v in before] == [("before", "pending"), ("before", "pending")]

    report = photos.fetch_due(db, requests.Session(), FAST)

    assert sorted(report.stored) == sorted([url, copy]) and not report.failed and report.registered == 2
    views = photos.case_photos(db, cid)
    assert all(v.stored and (v.mime, v.width, v.height, v.size) == ("image/png", 240, 180, len(PNG)) for v in views)
    assert views[0].blob == views[1].blob == hashlib.sha256(PNG).hexdigest()
    assert photos.blob_data(db, views[0].blob) == PNG
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(PhotoBlob)) == 1  # the same content is kept once
    assert photos.fetch_due(db, requests.Session(), FAST).changed is False  # nothing left to do
    assert len(httpserver.log) == 2


def test_not_found_fails_for_good_with_the_reason(db, httpserver: HTTPServer):
    httpserver.expect_request("/gone.jpg").respond_with_data("no such file", status=404)
    url = httpserver.url_for("/gone.jpg")
    cid = new_case(db, [url])
    report = photos.fetch_due(db, requests.Session(), FAST)
    assert report.failed == [(url, "the server answered HTTP 404")]
    [view] = photos.case_photos(db, cid)
    assert view.state == "failed" and view.reason == "the server answered HTTP 404" and not view.stored
    photos.fetch_due(db, requests.Session(), FAST)
    assert len(httpserver.log) == 1  # a 404 is not tried again


def test_a_slow_server_is_retried_with_back_off_then_given_up(db, httpserver: HTTPServer):
    calls: list[float] = []

    def slow(request: Request) -> Response:
        calls.append(time.monotonic())
        time.sleep(0.6)  # longer than the timeout
        return Response(PNG, content_type="image/png")

    httpserver.expect_request("/slow.jpg").respond_with_handler(slow)
    url = httpserver.url_for("/slow.jpg")
    cid = new_case(db, [url])
    limits = photos.Limits(timeout_s=0.3, attempts=2, backoff_s=600.0, backoff_max_s=3600.0)
    started = time.monotonic()
    first = photos.fetch_due(db, requests.Session(), limits)
    assert time.monotonic() - started < 1.0  # the round does not wait for the slow answer
    assert first.retrying == [(url, "no answer within 0.3 s")] and not first.failed
    row = state_of(db, url)
    assert row.state == "pending" and row.attempts == 1 and row.next_try_at > utcnow() + timedelta(seconds=500)
    assert photos.fetch_due(db, requests.Session(), limits).changed is False  # not due yet: no request
    assert len(calls) == 1
    with db.write() as s:  # the back-off has passed
        s.execute(update(Photo).values(next_try_at=utcnow() - timedelta(seconds=1)))
    time.sleep(0.7)  # the test server answers one request at a time: let it finish the first
    last = photos.fetch_due(db, requests.Session(), limits)
    assert last.failed == [(url, "no answer within 0.3 s")] and len(calls) == 2
    [view] = photos.case_photos(db, cid)
    assert view.state == "failed" and view.attempts == 2


def test_too_big_is_refused_with_or_without_a_length(db, httpserver: HTTPServer):
    big = PNG + b"\x00" * (FAST.max_bytes + 1)

    def chunked(request: Request) -> Response:
        return Response(iter([big[i : i + 4096] for i in range(0, len(big), 4096)]), content_type="image/png")

    httpserver.expect_request("/big.jpg").respond_with_data(big, content_type="image/png")
    httpserver.expect_request("/stream.jpg").respond_with_handler(chunked)
    urls = [httpserver.url_for("/big.jpg"), httpserver.url_for("/stream.jpg")]
    new_case(db, urls)
    report = photos.fetch_due(db, requests.Session(), FAST)
    assert sorted(report.failed) == sorted((u, "larger than the limit of 0.0625 MB") for u in urls)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(PhotoBlob)) == 0


def test_an_html_page_is_not_an_image(db, httpserver: HTTPServer):
    httpserver.expect_request("/login.jpg").respond_with_data("<html>please sign in</html>", content_type="image/jpeg")
    url = httpserver.url_for("/login.jpg")
    cid = new_case(db, [url])
    assert photos.fetch_due(db, requests.Session(), FAST).failed == [
        (url, "not an image (JPEG, PNG, GIF, WebP or BMP)")
    ]
    assert photos.case_photos(db, cid)[0].state == "failed"


def test_redirects_are_followed_and_loops_fail(db, httpserver: HTTPServer):
    httpserver.expect_request("/short/1").respond_with_data("", status=302, headers={"Location": "/real/1.png"})
    httpserver.expect_request("/real/1.png").respond_with_data(PNG, content_type="image/png")
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    good, loop = httpserver.url_for("/short/1"), httpserver.url_for("/loop")
    new_case(db, [good, loop])
    report = photos.fetch_due(db, requests.Session(), FAST)
    assert report.stored == [good] and report.failed == [(loop, "too many redirects")]


def test_server_errors_and_a_dead_server_are_retried(db, httpserver: HTTPServer):
    answers = iter([Response("busy", status=503), Response(PNG, content_type="image/png")])
    httpserver.expect_request("/flaky.jpg").respond_with_handler(lambda r: next(answers))
    flaky = httpserver.url_for("/flaky.jpg")
    with socket_closed() as dead:
        new_case(db, [flaky, dead])
        first = photos.fetch_due(db, requests.Session(), FAST)
    assert dict(first.retrying) == {flaky: "the server answered HTTP 503", dead: "the server refused the connection"}
    second = photos.fetch_due(db, requests.Session(), FAST)  # back-off 0 in FAST
    assert second.stored == [flaky]


class socket_closed:
    """A URL on a port nothing listens on."""

    def __enter__(self) -> str:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"http://127.0.0.1:{port}/x.jpg"

    def __exit__(self, *exc: object) -> None:
        return None


def test_two_seats_never_fetch_the_same_photo(db, httpserver: HTTPServer):
    httpserver.expect_request("/a.jpg").respond_with_data(PNG, content_type="image/png")
    new_case(db, [httpserver.url_for("/a.jpg")])
    photos.scan(db)
    assert len(photos.claim(db, FAST)) == 1
    assert photos.claim(db, FAST) == []  # the other seat finds it taken


def test_photo_references_resolve_to_stored_bytes_and_the_unit_adds_after_photos(db, users):
    cid = new_case(db, ["photo://PDA-1/1.jpg", "photo://PDA-1/2.jpg", "IMG_0001.JPG"])
    photos.put(db, "photo://PDA-1/1.jpg", PNG)
    op, unit = users["op1"], users["gridteam"]
    lc.file(db, op, cid, "0201")
    lc.dispatch(db, op, cid)
    lc.acknowledge(db, unit, cid)
    photos.put(db, "photo://result/1.jpg", AFTER_PNG)
    lc.handle(db, unit, cid, "车辆已规整", ["photo://result/1.jpg"])
    views = photos.case_photos(db, cid)
    assert [(v.kind, v.state, v.reason) for v in views] == [
        ("before", "stored", ""),
        ("before", "failed", "no photo was uploaded under this reference"),
        ("before", "failed", "not a reference this centre can fetch (http, https or photo://)"),
        ("after", "stored", ""),
    ]
    assert photos.blob_data(db, views[3].blob) == AFTER_PNG
    photos.put(db, "photo://PDA-1/2.jpg", PNG)  # the PDA's upload arrives late
    assert photos.case_photos(db, cid)[1].stored
    with pytest.raises(ValidationError, match="not an image"):
        photos.put(db, "photo://PDA-1/3.jpg", b"GIF? no")


def test_the_scan_finds_photos_of_cases_changed_since_the_last_round(db, users, httpserver: HTTPServer):
    httpserver.expect_request("/r.jpg").respond_with_data(AFTER_PNG, content_type="image/png")
    cid = new_case(db, [])
    assert photos.scan(db) == 0
    op, unit = users["op1"], users["gridteam"]
    lc.file(db, op, cid, "0201")
    lc.dispatch(db, op, cid)
    lc.acknowledge(db, unit, cid)
    url = httpserver.url_for("/r.jpg")
    lc.handle(db, unit, cid, "已处理", [url])  # a unit response with a URL photo
    assert photos.fetch_due(db, requests.Session(), FAST).stored == [url]
    assert [(v.kind, v.state) for v in photos.case_photos(db, cid)] == [("after", "stored")]


def test_cli_show_fetch_put_retry(db, db_url, users, httpserver: HTTPServer, tmp_path, capsys):
    httpserver.expect_request("/ok.png").respond_with_data(PNG, content_type="image/png")
    httpserver.expect_request("/gone.png").respond_with_data("", status=410)
    ok, gone = httpserver.url_for("/ok.png"), httpserver.url_for("/gone.png")
    cid = new_case(db, [ok, gone, "photo://PDA-9/1.jpg"])

    assert run_cli(["photos", "fetch", "--as", "admin", "--db", db_url, "--lang", "en"]) == 1  # one failed for good
    out = capsys.readouterr()
    assert f"stored: {ok}" in out.out and f"could not be fetched: {gone}: the server answered HTTP 410" in out.err

    upload = tmp_path / "1.png"
    upload.write_bytes(PNG)
    put = ["photos", "put", "photo://PDA-9/1.jpg", str(upload)]
    assert run_cli([*put, "--as", "admin", "--db", db_url, "--lang", "en"]) == 0
    (tmp_path / "bad.png").write_text("not a picture")
    bad = ["photos", "put", "photo://PDA-9/2.jpg", str(tmp_path / "bad.png"), "--as", "admin", "--db", db_url]
    bad += ["--lang", "zh_CN"]
    assert run_cli(bad) == 1
    assert "不是图片" in capsys.readouterr().err

    assert run_cli(["photos", "show", str(cid), "--as", "admin", "--db", db_url, "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"before\t{ok}\tstored, 240×180, 1 KB",
        f"before\t{gone}\tcould not be fetched: the server answered HTTP 410",
        "before\tphoto://PDA-9/1.jpg\tstored, 240×180, 1 KB",
    ]
    assert run_cli(["photos", "retry", "--as", "admin", "--db", db_url, "--lang", "en"]) == 0
    assert "1 photos will be fetched again." in capsys.readouterr().out
    assert state_of(db, gone).state == "pending"


def test_open311_media_urls_are_fetched_after_an_import(db, db_url, users, httpserver: HTTPServer, tmp_path, capsys):
    httpserver.expect_request("/requests/media/638344.jpg").respond_with_data(PNG, content_type="image/jpeg")
    httpserver.expect_request("/requests/media/638349.jpg").respond_with_data("Not Found", status=404)
    media = httpserver.url_for("/requests/media/")
    doc = tmp_path / "requests.json"
    doc.write_text(SPEC_REQUESTS_JSON.replace("http://city.gov.s3.amazonaws.com/requests/media/", media))
    one_shot = ["intake", "open311", str(doc), "--source", "sf311"]
    assert run_cli([*one_shot, "--as", "admin", "--db", db_url, "--lang", "en"]) == 0
    assert run_cli(["photos", "fetch", "--as", "admin", "--db", db_url, "--lang", "en"]) == 1
    capsys.readouterr()
    with db.read() as s:
        first, second = s.scalars(select(Case.id).order_by(Case.id)).all()
    assert run_cli(["photos", "show", str(first), "--as", "admin", "--db", db_url, "--lang", "en"]) == 0
    assert capsys.readouterr().out == f"before\t{media}638344.jpg\tstored, 240×180, 1 KB\n"
    assert run_cli(["photos", "show", str(second), "--as", "admin", "--db", db_url, "--lang", "en"]) == 0
    assert capsys.readouterr().out == f"before\t{media}638349.jpg\tcould not be fetched: the server answered HTTP 404\n"


def test_cli_photos_need_a_proven_user(db, db_url, users, capsys):
    cid = new_case(db, [])
    assert run_cli(["photos", "show", str(cid), "--db", db_url, "--lang", "en"]) == 1
    assert "Say who acts" in capsys.readouterr().err
    assert run_cli(["photos", "fetch", "--as", "station", "--db", db_url, "--lang", "en"]) == 1
