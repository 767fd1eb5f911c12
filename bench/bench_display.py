"""Benchmark: size and build time of the wall screen's grid GeoJSON (geo.display).

    python bench/bench_display.py [--grids 10000] [--no-write]

For the 150-grid demo district and a 10,000-grid city (both from geo.tiling) it measures the
raw polygons as GeoJSON (full precision, no simplification) against ``display_geojson``
(coverage-simplified, 5 decimals) at a few tolerances, raw and gzipped as sent, plus the
community outlines, and checks that the simplified grids still form a gap-free, overlap-free
coverage.  Target: 10,000 grids <= 3 MB as sent (gzip allowed).  Replaces the
"bench:display" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_assign import ROOT, machine, make_city, update_section

from geo.display import display_geojson, geojson_size, outline_geojson, simplify_coverage
from geo.tiling import make_district

SECTION = "display"
TARGET_BYTES = 3_000_000
TOLERANCES = (0.0, 2.0, 5.0, 10.0)
DEFAULT_TOLERANCE = 5.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args(argv)

    where = machine()
    rows, checks = [], []
    for label, district in [("demo, 150 grids", make_district(0)),
                            (f"city, {args.grids:,} grids", make_city(args.seed, args.grids))]:
        codes = [g.code for g in district.grids]
        polygons = np.array([g.polygon for g in district.grids], dtype=object)
        raw = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": c, "properties": {"code": c},
             "geometry": json.loads(shapely.to_geojson(p))} for c, p in zip(codes, polygons, strict=True)]}
        rows.append((label, "raw polygons (full precision)", _vertices(polygons), None, *geojson_size(raw)))
        for tolerance in TOLERANCES:
            t = time.perf_counter()
            fc = display_geojson(codes, polygons, tolerance_m=tolerance)
            seconds = time.perf_counter() - t
            what = (f"display, rounded to 1e-5, coverage_simplify {tolerance:g} m" if tolerance
                    else "display, rounded to 1e-5 only")
            rows.append((label, what, _vertices(_shapes(fc)), seconds, *geojson_size(fc)))
        t = time.perf_counter()
        outlines = outline_geojson([g.parent_code for g in district.grids], polygons, DEFAULT_TOLERANCE)
        seconds = time.perf_counter() - t
        rows.append((label, f"community outlines (lines), {DEFAULT_TOLERANCE:g} m", None, seconds,
                     *geojson_size(outlines)))
        checks.append(_check(label, district, polygons))
        for row in rows[-len(TOLERANCES) - 2:]:
            print(_row(row))

    city_default = next(r for r in rows if r[0].startswith("city") and f"{DEFAULT_TOLERANCE:g} m" in r[1]
                        and r[1].startswith("display"))
    verdict = (f"Target (10,000 grids <= 3 MB as sent, gzip allowed): "
               f"{'met' if city_default[5] <= TARGET_BYTES else 'MISSED'} -- "
               f"{city_default[5] / 1e6:.2f} MB gzipped, {city_default[4] / 1e6:.2f} MB uncompressed "
               f"at the default {DEFAULT_TOLERANCE:g} m.")
    md = render(where, rows, checks, verdict)
    print()
    print(md)
    if not args.no_write:
        update_section(ROOT / "BENCHMARKS.md", SECTION, md)
        print(f"updated {ROOT / 'BENCHMARKS.md'}")


def _shapes(fc):
    return np.array([shapely.from_geojson(json.dumps(f["geometry"])) for f in fc["features"]], dtype=object)


def _vertices(polygons):
    return int(shapely.get_num_coordinates(polygons).sum())


def _check(label, district, polygons):
    """Simplified grids must still tile the district: no overlaps, no gaps, all valid."""
    after = simplify_coverage(polygons, DEFAULT_TOLERANCE)
    area = district.outline.area
    union = shapely.union_all(after).area
    overlap = shapely.area(after).sum() - union
    return (f"- {label}, {DEFAULT_TOLERANCE:g} m: valid polygons {shapely.is_valid(after).mean():.2%}, "
            f"valid coverage (no overlaps / gaps between neighbours): {shapely.coverage_is_valid(after)}, "
            f"sum of areas - union = {overlap / area:.1e} of the district, "
            f"union vs district outline {abs(union - area) / area:.1e} (outer edge simplified too).")


def _row(row):
    label, what, vertices, seconds, raw, zipped = row
    return (f"| {label} | {what} | {'' if vertices is None else f'{vertices:,}'} | "
            f"{'' if seconds is None else f'{seconds:.2f}'} | {raw / 1e6:.2f} | {zipped / 1e6:.2f} |")


def render(where, rows, checks, verdict):
    return "\n".join([
        "## Display GeoJSON for the wall screen",
        "",
        f"`python bench/bench_display.py` on {dt.date.today()}: {where}.",
        "",
        "Sizes are compact UTF-8 JSON (`geo.display.geojson_size`), uncompressed and gzip level 6 "
        "as a server would send them. Build time is `display_geojson` / `outline_geojson` "
        "(simplify + round + build the dict).",
        "",
        "| district | GeoJSON | vertices | build s | raw MB | gzip MB |",
        "|---|---|---:|---:|---:|---:|",
        *(_row(r) for r in rows),
        "",
        verdict,
        "",
        "Watertightness after simplification:",
        "",
        *checks,
    ])


if __name__ == "__main__":
    main()
