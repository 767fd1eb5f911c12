"""The region tree (district → street → community → grid) as an in-memory directory: codes, names,
parents, population. Read once per region version and cached, because every screen refresh needs
to name grids and every drill-down page needs its breadcrumb.

The directory is not scoped: it is an internal index. Functions that show regions to a viewer
filter with `data.access.region_clause` or check `Directory.within`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.models import Category, Region
from data.read.cache import Memo, checked_version

LEVELS = ("district", "street", "community", "grid")

_memo: Memo[Directory] = Memo(max_entries=8, ttl=120)
_categories: Memo[dict] = Memo(max_entries=8, ttl=300)


@dataclass(frozen=True)
class RegionInfo:
    id: int
    level: str
    code: str
    name: str
    parent_id: int | None
    population: int


@dataclass
class Directory:
    by_id: dict[int, RegionInfo] = field(default_factory=dict)
    by_code: dict[str, RegionInfo] = field(default_factory=dict)
    version: tuple = ()

    def get(self, region_id: int | None) -> RegionInfo | None:
        return self.by_id.get(region_id) if region_id is not None else None

    def chain(self, region_id: int) -> list[RegionInfo]:
        """The region and its ancestors, from the district down to the region."""
        out = []
        node = self.get(region_id)
        while node is not None and len(out) < 8:
            out.append(node)
            node = self.get(node.parent_id)
        return out[::-1]

    def ancestor(self, region_id: int, level: str) -> RegionInfo | None:
        return next((r for r in self.chain(region_id) if r.level == level), None)

    def within(self, region_id: int, scope_id: int | None) -> bool:
        """Is `region_id` the scope region or below it? (None scope: the whole district.)"""
        if scope_id is None:
            return True
        return any(r.id == scope_id for r in self.chain(region_id))

    def grids(self) -> list[RegionInfo]:
        return sorted((r for r in self.by_id.values() if r.level == "grid"), key=lambda r: r.code)

    def district(self) -> RegionInfo | None:
        return next((r for r in self.by_id.values() if r.level == "district"), None)


def _bind_key(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


def directory(session: Session) -> Directory:
    """The active regions, cached per (database, region count, newest region id)."""
    url = _bind_key(session)
    version = checked_version(
        (url, "regions"), lambda: tuple(session.execute(select(func.count(Region.id), func.max(Region.id))).one())
    )
    return _memo.get_or_build((url, *version), lambda: _load(session, (url, *version)))


def _load(session: Session, version: tuple) -> Directory:
    out = Directory(version=version)
    rows = session.execute(
        select(Region.id, Region.level, Region.code, Region.name, Region.parent_id, Region.population).where(
            Region.active.is_(True)
        )
    )
    for row in rows:
        info = RegionInfo(row.id, row.level, row.code, row.name, row.parent_id, row.population or 0)
        out.by_id[info.id] = info
        out.by_code[info.code] = info
    return out


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    code: str
    name: str
    parent_id: int | None
    kind: str = "event"  # component 部件 | event 事件
    property_matter: bool = False
    response_hours: float = 0.0
    handling_hours: float = 0.0

    @property
    def is_main(self) -> bool:
        return self.parent_id is None


def categories(session: Session) -> dict[int, CategoryInfo]:
    """Every category (大类 and 小类) by id, cached for a few minutes."""
    url = _bind_key(session)
    version = checked_version(
        (url, "categories"),
        lambda: tuple(session.execute(select(func.count(Category.id), func.max(Category.id))).one()),
    )
    key = (url, *version)

    def load():
        rows = session.execute(
            select(
                Category.id,
                Category.code,
                Category.name,
                Category.parent_id,
                Category.kind,
                Category.property_matter,
                Category.response_hours,
                Category.handling_hours,
            )
        )
        return {r.id: CategoryInfo(*r) for r in rows}

    return _categories.get_or_build(key, load)


def main_category(cats: dict[int, CategoryInfo], category_id: int) -> CategoryInfo | None:
    """The 大类 of a category (itself when it is one)."""
    cat = cats.get(category_id)
    if cat is not None and cat.parent_id is not None:
        return cats.get(cat.parent_id, cat)
    return cat
