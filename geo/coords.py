"""Conversions between WGS84, GCJ-02 and BD-09 coordinates.

Chinese phone map SDKs report GCJ-02 (AMap/Tencent) or BD-09 (Baidu); we store WGS84.
Every function takes ``(lon, lat)`` in that order -- scalars or array-likes that broadcast --
and returns ``(lon, lat)``: two Python floats for scalar input, two float64 arrays otherwise.

Points outside the rough bounding box of China used by the public PRCoords / eviltransform
algorithms (lon 72.004..137.8347, lat 0.8293..55.8271) are returned unchanged, in every
direction: the box is tested on the *input* point.  NaN in either coordinate gives NaN in both, never an exception.

The GCJ-02 forward transform is the widely published reverse-engineered formula (Krasovsky
1940 ellipsoid); the inverses are fixed-point iterations of the forward functions, accurate to
about a millimetre (far below the 0.5 m the product needs).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "normalise_system",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

SYSTEMS = ("wgs84", "gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as used by GCJ-02
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0  # BD-09's rotation constant
_BD_DLON = 0.0065
_BD_DLAT = 0.0060
_ITERATIONS = 8  # fixed-point steps for the inverses; error shrinks ~1000x per step


def _as_arrays(lon, lat):
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    scalar = lon_a.ndim == 0 and lat_a.ndim == 0
    lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    return lon_a, lat_a, scalar


def _result(lon, lat, scalar):
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def in_china(lon, lat):
    """True where ``(lon, lat)`` lies in the rough bounding box that GCJ-02 applies to.

    NaN gives False.  This is the same crude box as PRCoords' ``sanity_in_china_p``: it includes
    parts of neighbouring countries and that is intended (it matches what the map SDKs do).
    """
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    return (lon_a >= 72.004) & (lon_a <= 137.8347) & (lat_a >= 0.8293) & (lat_a <= 55.8271)


def _gcj_offset(lon, lat):
    """GCJ-02 minus WGS84, in degrees, at WGS84 (lon, lat); no bounding-box test."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = 20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)
    dlat_m = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + (common
           + 20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)
           + 160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y / 30.0 * np.pi)) * 2.0 / 3.0
    )
    dlon_m = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + (common
           + 20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)
           + 150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat_m * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon_m * 180.0 / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _wgs_to_gcj_raw(lon, lat):
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_wgs_raw(lon, lat):
    # Solve f(w) = g by w <- w - (f(w) - g); f is a small, slowly varying offset so this
    # contracts fast (8 steps leave < 1e-12 degrees).
    w_lon, w_lat = lon - 0.0, lat - 0.0
    for _ in range(_ITERATIONS):
        f_lon, f_lat = _wgs_to_gcj_raw(w_lon, w_lat)
        w_lon = w_lon - (f_lon - lon)
        w_lat = w_lat - (f_lat - lat)
    return w_lon, w_lat


def _gcj_to_bd_raw(lon, lat):
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_to_gcj_raw(lon, lat):
    # Closed-form approximate inverse (~1e-7 deg), then fixed-point refinement.
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    g_lon, g_lat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(3):
        b_lon, b_lat = _gcj_to_bd_raw(g_lon, g_lat)
        g_lon = g_lon - (b_lon - lon)
        g_lat = g_lat - (b_lat - lat)
    return g_lon, g_lat


def _convert(raw, lon, lat):
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    inside = in_china(lon_a, lat_a)
    out_lon, out_lat = raw(lon_a, lat_a)
    out_lon = np.where(inside, out_lon, lon_a)
    out_lat = np.where(inside, out_lat, lat_a)
    # A point with one NaN coordinate is unknown, not "outside China": blank both halves.
    unknown = np.isnan(lon_a) | np.isnan(lat_a)
    if unknown.any():
        out_lon = np.where(unknown, np.nan, out_lon)
        out_lat = np.where(unknown, np.nan, out_lat)
    return _result(out_lon, out_lat, scalar)


def wgs84_to_gcj02(lon, lat):
    """WGS84 -> GCJ-02 (the "Mars" coordinates of AMap / Tencent maps)."""
    return _convert(_wgs_to_gcj_raw, lon, lat)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 -> WGS84 by fixed-point iteration of the forward transform (error < 1 mm)."""
    return _convert(_gcj_to_wgs_raw, lon, lat)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 -> BD-09 (Baidu maps)."""
    return _convert(_gcj_to_bd_raw, lon, lat)


def bd09_to_gcj02(lon, lat):
    """BD-09 -> GCJ-02, closed-form inverse refined by fixed-point iteration."""
    return _convert(_bd_to_gcj_raw, lon, lat)


def wgs84_to_bd09(lon, lat):
    """WGS84 -> BD-09 (via GCJ-02)."""
    return _convert(lambda x, y: _gcj_to_bd_raw(*_wgs_to_gcj_raw(x, y)), lon, lat)


def bd09_to_wgs84(lon, lat):
    """BD-09 -> WGS84 (via GCJ-02)."""
    return _convert(lambda x, y: _gcj_to_wgs_raw(*_bd_to_gcj_raw(x, y)), lon, lat)


def normalise_system(system: str) -> str:
    """'GCJ-02' -> 'gcj02' etc.; ValueError for an unknown name, TypeError for a non-string."""
    if not isinstance(system, str):
        raise TypeError(f"coordinate system must be a string, one of {SYSTEMS}; got {system!r}")
    key = system.strip().lower().replace("-", "").replace("_", "")
    if key not in SYSTEMS:
        raise ValueError(
            f"unknown coordinate system {system!r}: expected one of 'wgs84', 'gcj02', 'bd09'"
        )
    return key


def _identity(lon, lat):
    return lon, lat


_TO_WGS84 = {"wgs84": None, "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"wgs84": None, "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def to_wgs84(lon, lat, system: str):
    """Convert ``(lon, lat)`` given in ``system`` ("wgs84", "gcj02" or "bd09", any case) to WGS84.

    Raises ``ValueError`` for an unknown system name.
    """
    func = _TO_WGS84[normalise_system(system)]
    if func is None:
        return _convert(_identity, lon, lat)
    return func(lon, lat)


def from_wgs84(lon, lat, system: str):
    """Convert WGS84 ``(lon, lat)`` to ``system`` ("wgs84", "gcj02" or "bd09"); inverse of to_wgs84."""
    func = _FROM_WGS84[normalise_system(system)]
    if func is None:
        return _convert(_identity, lon, lat)
    return func(lon, lat)
