"""A realistic, deterministic demo district: outline, streets, communities and grids.

The demo and the benchmarks need a region hierarchy that looks like a Chinese county town
(denser small grids in the centre, larger ones at the edge, wiggly borders with ~50 vertices
per grid like surveyed data) and that tiles exactly: every point of the district lies in one
grid, one community and one street, with no gaps or overlaps.

How it is built (all in a local kilometre plane, converted to lon/lat at the end):

1. the outline is a smooth random blob (a few low Fourier harmonics of the radius);
2. grid seeds are clustered around the town centre and two sub-centres, relaxed once (Lloyd)
   so that no grid is a sliver;
3. the Voronoi cells of the seeds, clipped to the outline, form an exact coverage; each shared
   edge is wiggled *once* and the faces are rebuilt with ``polygonize``, so neighbours keep
   sharing identical vertices;
4. communities grow from k-means seeds over the grid adjacency graph (shortest paths, so every
   community is contiguous and non-empty); streets grow the same way from communities;
5. communities and streets are dissolved from their grids with ``coverage_union_all``.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["DISTRICT_CODE", "District", "Region", "make_district"]

DISTRICT_CODE = "360731"  # 于都县, Ganzhou, Jiangxi
DISTRICT_NAME = "于都县"

KM_PER_DEG_LAT = 110.574

STREET_NAMES = [
    "贡江镇", "城东街道", "城西街道", "城南街道", "城北街道", "长征街道", "龙舒街道", "梅江街道",
    "罗江街道", "岭背镇", "银坑镇", "禾丰镇", "梓山镇", "罗坳镇", "黄麟乡", "葛坳乡",
]
COMMUNITY_NAMES = [
    "长征", "龙舒", "东门", "西门", "南门", "北门", "和平", "解放", "红旗", "建设", "胜利", "文化",
    "滨江", "贡江", "工农", "前进", "新华", "光明", "团结", "幸福", "人民", "友谊", "繁荣", "育才",
    "南桥", "东桥", "城关", "梅林", "长安", "阳光", "锦江", "翠微", "渡口", "紫阳", "金桥", "向阳",
    "迎宾", "古田", "沙心", "上欧",
]
_ORDINALS = "一二三四五六七八九十"


class Region(NamedTuple):
    """One unit of the hierarchy: code, Chinese name, parent's code and WGS84 polygon."""

    code: str
    name: str
    parent_code: str
    polygon: BaseGeometry


@dataclass(frozen=True)
class District:
    """A generated district; ``grids`` tile ``outline`` exactly, communities and streets too."""

    code: str
    name: str
    outline: BaseGeometry
    streets: list[Region] = field(default_factory=list)
    communities: list[Region] = field(default_factory=list)
    grids: list[Region] = field(default_factory=list)


def make_district(
    seed: int = 0,
    n_streets: int = 6,
    n_communities: int = 24,
    n_grids: int = 150,
    center: tuple[float, float] = (115.41, 25.95),
    radius_km: float | None = None,
    edge_vertices: int = 8,
) -> District:
    """Generate a district around ``center`` (lon, lat), deterministic for a given ``seed``.

    ``radius_km`` is the east-west half-width of the outline; north-south is 3/4 of it.  The
    default is 4 km (a blob of about 8 x 6 km) up to 150 grids and grows with
    sqrt(n_grids / 150) beyond, so grids keep town-like sizes (10,000 grids: ~65 x 49 km).
    ``edge_vertices`` extra vertices are added to every border between two grids (0 keeps
    straight Voronoi edges).  Requires
    ``1 <= n_streets <= n_communities <= n_grids``.

    Grid codes have 15 digits: 6 district + 3 street + 3 community + 3 sequence; a community's
    code is the first 12 digits of its grids' codes and a street's code the first 9.
    """
    if not 1 <= n_streets <= n_communities <= n_grids:
        raise ValueError("need 1 <= n_streets <= n_communities <= n_grids")
    if n_grids > 999 * n_communities or n_communities > 999 * n_streets or n_streets > 999:
        raise ValueError("at most 999 children per parent fit in a 3-digit code")
    if radius_km is None:
        radius_km = 4.0 * max(1.0, math.sqrt(n_grids / 150))
    rng = np.random.default_rng(seed)
    outline_km = _blob(rng, radius_km, radius_km * 0.75)
    seeds = _grid_seeds(rng, outline_km, n_grids, radius_km)
    cells = _clipped_voronoi(seeds, outline_km)
    # One Lloyd step (seeds to their cell's centroid) removes slivers but keeps the density.
    moved = shapely.get_coordinates(shapely.centroid(cells))
    keep = shapely.contains_xy(outline_km, moved[:, 0], moved[:, 1])
    seeds = np.where(keep[:, None], moved, seeds)
    cells = _clipped_voronoi(seeds, outline_km)
    adjacency = _adjacency(seeds, cells)
    grids_km = _wiggle_edges(rng, cells, seeds, outline_km, edge_vertices)

    to_deg = _km_to_deg(center)
    grids = shapely.transform(np.asarray(grids_km, dtype=object), to_deg)
    outline = shapely.transform(outline_km, to_deg)

    centroids = shapely.get_coordinates(shapely.centroid(grids_km))
    community_of = _grow_regions(rng, centroids, np.ones(n_grids), adjacency, n_communities)
    community_polys = [shapely.coverage_union_all(grids[community_of == c]) for c in range(n_communities)]
    community_centroids = np.array([
        centroids[community_of == c].mean(axis=0) for c in range(n_communities)
    ])
    community_adjacency = _lift_adjacency(adjacency, community_of, n_communities)
    sizes = np.bincount(community_of, minlength=n_communities).astype(float)
    street_of = _grow_regions(rng, community_centroids, sizes, community_adjacency, n_streets)
    street_polys = [
        shapely.coverage_union_all(np.asarray(community_polys, dtype=object)[street_of == s])
        for s in range(n_streets)
    ]
    street_centroids = np.array([
        community_centroids[street_of == s].mean(axis=0) for s in range(n_streets)
    ])
    return _label(
        outline,
        _Level(street_polys, street_centroids, None),
        _Level(community_polys, community_centroids, street_of),
        _Level(grids, centroids, community_of),
    )


# --- outline and seeds -------------------------------------------------------------------

def _blob(rng, rx, ry, n=240):
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 6):
        r += rng.uniform(0.02, 0.12 / k * 2) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.6, None)
    return shapely.Polygon(np.column_stack([rx * r * np.cos(theta), ry * r * np.sin(theta)]))


def _grid_seeds(rng, outline, n, radius_km):
    # A town: one dense centre, two smaller sub-centres, thinner countryside around.
    centres = np.array([[0.0, 0.0], *rng.uniform(-0.5, 0.5, (2, 2)) * radius_km])
    weights = np.array([0.45, 0.15, 0.1])
    sigmas = np.array([0.3, 0.15, 0.12]) * radius_km
    xmin, ymin, xmax, ymax = outline.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        m = 4 * n
        which = rng.choice(4, size=m, p=[*weights, 1 - weights.sum()])
        pts = rng.uniform([xmin, ymin], [xmax, ymax], (m, 2))
        clustered = which < 3
        pts[clustered] = centres[which[clustered]] + rng.normal(
            0.0, 1.0, (clustered.sum(), 2)) * sigmas[which[clustered], None]
        pts = pts[shapely.contains_xy(outline, pts[:, 0], pts[:, 1])]
        out = np.unique(np.vstack([out, pts]), axis=0)
    return out[rng.permutation(len(out))[:n]]


def _clipped_voronoi(seeds, outline):
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=outline, ordered=True)
    return shapely.intersection(np.asarray(cells.geoms), outline)


def _adjacency(seeds, cells):
    """Neighbour lists of cells sharing a border of positive length (Delaunay candidates)."""
    edges = shapely.delaunay_triangles(shapely.multipoints(seeds), only_edges=True)
    coords = shapely.get_coordinates(edges).reshape(-1, 2, 2)
    index = {tuple(p): i for i, p in enumerate(seeds)}
    pairs = np.array([(index[tuple(a)], index[tuple(b)]) for a, b in coords])
    share = shapely.relate_pattern(cells[pairs[:, 0]], cells[pairs[:, 1]], "****1****")
    neighbours = [[] for _ in range(len(seeds))]
    for a, b in pairs[share]:
        neighbours[a].append(b)
        neighbours[b].append(a)
    return neighbours


# --- realistic borders ---------------------------------------------------------------------

def _wiggle_edges(rng, cells, seeds, outline, edge_vertices, sigma=0.05):
    """Give every shared border a smooth random wiggle while keeping an exact tiling."""
    if edge_vertices <= 0:
        return list(cells)
    edges = np.asarray(shapely.get_parts(shapely.line_merge(shapely.union_all(shapely.boundary(cells)))))
    inner = ~shapely.covered_by(edges, shapely.buffer(outline.exterior, 1e-9))
    inner &= (shapely.get_num_coordinates(edges) == 2) & (shapely.length(edges) > 0)
    ends = shapely.get_coordinates(edges[inner]).reshape(-1, 2, 2)
    noise = rng.normal(0.0, 1.0, (len(ends), 3))
    for _ in range(5):  # halve the wiggle until the faces rebuild cleanly (deterministic)
        wiggled = edges.copy()
        wiggled[inner] = _wiggle(ends, noise, edge_vertices, sigma)
        faces = np.asarray(shapely.get_parts(shapely.polygonize(wiggled)))
        grids = _faces_to_cells(faces, cells, seeds)
        if grids is not None:
            return grids
        sigma /= 2
    return list(cells)


def _wiggle(ends, noise, m, sigma):
    """Straight edges (E, 2, 2) -> LineStrings with m inner vertices displaced sideways by a
    sum of three sine modes that vanish at both ends (so junctions do not move)."""
    a, b = ends[:, 0], ends[:, 1]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / length[:, None]
    t = np.arange(1, m + 1) / (m + 1)
    modes = np.stack([np.sin(j * np.pi * t) / j for j in (1, 2, 3)])  # (3, m)
    offset = sigma * (noise @ modes) * length[:, None]  # (E, m)
    middle = a[:, None, :] + t[None, :, None] * d[:, None, :] + offset[:, :, None] * normal[:, None, :]
    return shapely.linestrings(np.concatenate([a[:, None, :], middle, b[:, None, :]], axis=1))


def _faces_to_cells(faces, cells, seeds):
    """Map rebuilt faces back to their Voronoi cell, or None if the wiggle broke the tiling."""
    if len(faces) < len(cells) or not shapely.is_valid(faces).all():
        return None
    tree = shapely.STRtree(cells)
    face_idx, cell_idx = tree.query(shapely.point_on_surface(faces), predicate="within")
    if len(face_idx) != len(faces) or len(np.unique(face_idx)) != len(faces):
        return None
    owner = np.empty(len(faces), dtype=np.int64)
    owner[face_idx] = cell_idx
    if len(np.unique(owner)) != len(cells):
        return None
    grids = [faces[owner == i] for i in range(len(cells))]
    grids = [g[0] if len(g) == 1 else shapely.coverage_union_all(g) for g in grids]
    if not shapely.contains_xy(np.asarray(grids, dtype=object), seeds[:, 0], seeds[:, 1]).all():
        return None
    return grids


# --- hierarchy -----------------------------------------------------------------------------

def _kmeans(rng, points, weights, k, iterations=20):
    centres = points[rng.choice(len(points), size=k, replace=False)]
    norms = (points**2).sum(1)[:, None]
    for _ in range(iterations):
        label = np.argmin(norms - 2 * points @ centres.T + (centres**2).sum(1)[None, :], axis=1)
        total = np.bincount(label, weights=weights, minlength=k)
        used = total > 0
        for axis in (0, 1):
            centres[used, axis] = (np.bincount(label, weights=weights * points[:, axis], minlength=k)[used]
                                   / total[used])
    return centres


def _grow_regions(rng, points, weights, neighbours, k):
    """Partition graph nodes into k contiguous non-empty regions grown from k-means seeds."""
    centres = _kmeans(rng, points, weights, k)
    sources = []
    taken = set()
    for c in centres:
        for i in np.argsort(((points - c) ** 2).sum(1)):
            if int(i) not in taken:
                taken.add(int(i))
                sources.append(int(i))
                break
    # Multi-source Dijkstra: each node joins the region of its nearest source along the graph;
    # its predecessor on that path is in the same region, so regions are contiguous.
    region = np.full(len(points), -1)
    dist = np.full(len(points), np.inf)
    heap = [(0.0, r, s) for r, s in enumerate(sources)]
    dist[sources] = 0.0
    heapq.heapify(heap)
    while heap:
        d, r, node = heapq.heappop(heap)
        if region[node] != -1:
            continue
        region[node] = r
        for nb in neighbours[node]:
            nd = d + float(np.hypot(*(points[nb] - points[node])))
            if region[nb] == -1 and nd < dist[nb]:
                dist[nb] = nd
                heapq.heappush(heap, (nd, r, nb))
    if (region < 0).any():
        raise RuntimeError("grid adjacency graph is not connected")
    return region


def _lift_adjacency(neighbours, group_of, n_groups):
    lifted = [set() for _ in range(n_groups)]
    for a, nbs in enumerate(neighbours):
        for b in nbs:
            if group_of[a] != group_of[b]:
                lifted[group_of[a]].add(int(group_of[b]))
    return [sorted(s) for s in lifted]


def _spatial_order(centroids):
    """North to south in ~1 km bands, west to east within a band: codes read like a map."""
    return sorted(range(len(centroids)), key=lambda i: (-round(centroids[i][1]), centroids[i][0]))


def _name(pool, i, suffix=""):
    base = pool[i % len(pool)]
    lap = i // len(pool)
    if lap == 0:
        return base + suffix
    if base.endswith(("街道", "镇", "乡")):
        stem = base[:-2] if base.endswith("街道") else base[:-1]
        return f"{stem}{_ORDINALS[(lap - 1) % 10]}{base[len(stem):]}"
    return f"{base}{_ORDINALS[(lap - 1) % 10]}{suffix}"


@dataclass(frozen=True)
class _Level:
    """One level of the tiling: its polygons, their centroids, and the index of each one's parent
    in the level above (None for the streets)."""

    polygons: list
    centroids: np.ndarray
    parent_of: np.ndarray | None


def _label(outline, street_level: _Level, community_level: _Level, grid_level: _Level) -> District:
    """Codes and names, in a spatial order at each level (6 + 3 + 3 + 3 digits)."""
    street_polys, street_centroids = street_level.polygons, street_level.centroids
    community_polys, community_centroids, street_of = (
        community_level.polygons,
        community_level.centroids,
        community_level.parent_of,
    )
    grids, grid_centroids, community_of = grid_level.polygons, grid_level.centroids, grid_level.parent_of
    streets, communities, out_grids = [], [], []
    community_index = 0
    for s_seq, s in enumerate(_spatial_order(street_centroids), start=1):
        s_code = f"{DISTRICT_CODE}{s_seq:03d}"
        streets.append(Region(s_code, _name(STREET_NAMES, s_seq - 1), DISTRICT_CODE, street_polys[s]))
        mine = [c for c in range(len(community_polys)) if street_of[c] == s]
        for c_seq, c in enumerate(_spatial_order(community_centroids[mine]), start=1):
            c = mine[c]
            c_code = f"{s_code}{c_seq:03d}"
            c_name = _name(COMMUNITY_NAMES, community_index, "社区")
            community_index += 1
            communities.append(Region(c_code, c_name, s_code, community_polys[c]))
            my_grids = np.flatnonzero(community_of == c)
            width = 2 if len(my_grids) < 100 else 3
            for g_seq, g in enumerate(_spatial_order(grid_centroids[my_grids]), start=1):
                g = int(my_grids[g])
                out_grids.append(Region(f"{c_code}{g_seq:03d}", f"{c_name}第{g_seq:0{width}d}网格",
                                        c_code, grids[g]))
    return District(DISTRICT_CODE, DISTRICT_NAME, outline, streets, communities, out_grids)


def _km_to_deg(center):
    lon0, lat0 = center
    km_per_deg_lon = 111.320 * np.cos(np.radians(lat0))

    def to_deg(xy):
        return np.column_stack([lon0 + xy[:, 0] / km_per_deg_lon, lat0 + xy[:, 1] / KM_PER_DEG_LAT])

    return to_deg
