"""geo.coords against the independent PRCoords implementation, plus round trips and edge cases."""

import math
import warnings

import numpy as np
import prcoords
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import coords

R_EARTH = 6371008.8


def haversine_m(lon1, lat1, lon2, lat2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R_EARTH * math.asin(math.sqrt(h))


# Stay a little inside the box so that a converted point cannot cross its edge.
china_lon = st.floats(73.0, 137.0, allow_nan=False)
china_lat = st.floats(1.5, 55.0, allow_nan=False)

# (ours, prcoords reference taking and returning (lat, lon))
PAIRS = [
    (coords.wgs84_to_gcj02, prcoords.wgs_gcj),
    (coords.gcj02_to_wgs84, prcoords.gcj_wgs_bored),
    (coords.gcj02_to_bd09, prcoords.gcj_bd),
    (coords.bd09_to_gcj02, prcoords.bd_gcj_bored),
    (coords.wgs84_to_bd09, prcoords.wgs_bd),
    (coords.bd09_to_wgs84, prcoords.bd_wgs_bored),
]


@pytest.mark.parametrize("ours, reference", PAIRS, ids=lambda f: getattr(f, "__name__", "ref"))
@settings(max_examples=200, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_agrees_with_prcoords(ours, reference, lon, lat):
    got_lon, got_lat = ours(lon, lat)
    ref = reference((lat, lon))
    assert haversine_m(got_lon, got_lat, ref.lon, ref.lat) < 0.5


@settings(max_examples=200, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_round_trips(lon, lat):
    for forward, back in [
        (coords.wgs84_to_gcj02, coords.gcj02_to_wgs84),
        (coords.gcj02_to_bd09, coords.bd09_to_gcj02),
        (coords.wgs84_to_bd09, coords.bd09_to_wgs84),
    ]:
        x, y = back(*forward(lon, lat))
        assert haversine_m(x, y, lon, lat) < 0.01


def test_offset_is_real_at_yudu():
    # GCJ-02 moves points by hundreds of metres; an identity bug would pass the round trips.
    lon, lat = 115.41, 25.95
    g = coords.wgs84_to_gcj02(lon, lat)
    b = coords.wgs84_to_bd09(lon, lat)
    assert 300 < haversine_m(lon, lat, *g) < 1000
    assert 500 < haversine_m(lon, lat, *b) < 2000


@pytest.mark.parametrize("func", [p[0] for p in PAIRS])
@pytest.mark.parametrize(
    "lon, lat", [(-0.1276, 51.5072), (-74.0, 40.7), (151.2, -33.9), (110.0, 0.5), (140.0, 35.0), (72.0, 30.0)]
)
def test_outside_china_unchanged(func, lon, lat):
    assert func(lon, lat) == (lon, lat)


@pytest.mark.parametrize("func", [p[0] for p in PAIRS])
def test_nan_in_nan_out(func):
    lon, lat = func(np.array([np.nan, 115.41, 115.41]), np.array([25.95, np.nan, 25.95]))
    assert np.isnan(lon[:2]).all() and np.isnan(lat[:2]).all()
    assert np.isfinite([lon[2], lat[2]]).all()
    x, y = func(float("nan"), float("nan"))
    assert math.isnan(x) and math.isnan(y)


@pytest.mark.parametrize("func", [p[0] for p in PAIRS])
def test_arrays_match_scalars(func):
    rng = np.random.default_rng(7)
    lon = np.concatenate([rng.uniform(73, 137, 50), [-74.0, 2.35]]).reshape(2, 26)
    lat = np.concatenate([rng.uniform(2, 55, 50), [40.7, 48.85]]).reshape(2, 26)
    got_lon, got_lat = func(lon, lat)
    assert got_lon.shape == lon.shape and got_lon.dtype == np.float64
    for i in np.ndindex(lon.shape):
        assert func(float(lon[i]), float(lat[i])) == (got_lon[i], got_lat[i])
    # lists and broadcasting work too
    one_lon, one_lat = func([115.41, 115.42], 25.95)
    assert one_lon.shape == (2,) and one_lat.shape == (2,)


def test_scalar_in_gives_floats_out():
    lon, lat = coords.gcj02_to_wgs84(115.41, 25.95)
    assert type(lon) is float and type(lat) is float


@pytest.mark.parametrize("system", ["wgs84", "WGS84", "gcj02", "GCJ-02", "bd09", " BD09 "])
def test_to_wgs84_inverts_from_wgs84(system):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lon, lat = coords.to_wgs84(*coords.from_wgs84(115.41, 25.95, system), system)
    assert haversine_m(lon, lat, 115.41, 25.95) < 0.01


def test_to_wgs84_dispatches():
    assert coords.to_wgs84(115.41, 25.95, "GcJ02") == coords.gcj02_to_wgs84(115.41, 25.95)
    assert coords.to_wgs84(115.41, 25.95, "bd09") == coords.bd09_to_wgs84(115.41, 25.95)
    arr = np.array([115.41])
    out, _ = coords.to_wgs84(arr, np.array([25.95]), "wgs84")
    assert out is not arr and out[0] == 115.41


@pytest.mark.parametrize("bad", ["utm", "", "epsg:4326"])
def test_unknown_system_is_a_clear_error(bad):
    with pytest.raises(ValueError, match=r"unknown coordinate system .* expected one of"):
        coords.to_wgs84(115.41, 25.95, bad)


def test_system_must_be_a_string():
    with pytest.raises(TypeError, match="coordinate system"):
        coords.to_wgs84(115.41, 25.95, None)
