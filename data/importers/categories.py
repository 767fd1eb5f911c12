"""Categories named in an import file, matched to ours or created under the 导入类 group.

A file's category cell is matched, in this order, to a sub-category (小类) by code, by name (when
only one sub-category has it), or as "大类/小类" ("大类-小类", "大类>小类") by both names; anything
else becomes (or reuses) a sub-category of the same name under the group `IMPORTED_GROUP`
("导入类", code IMP), coded IMP-001, IMP-002, ... An empty cell is "未分类" there. Matching by
name makes a re-import reuse what the first import created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import Category

IMPORTED_GROUP = ("IMP", "导入类")
UNCLASSIFIED = "未分类"
MAX_NAME = 64
_SPLIT = re.compile(r"\s*[/>\-|]\s*")


@dataclass
class CategoryMatch:
    ids: dict[str | None, int | None] = field(default_factory=dict)  # file value -> category id
    created: list[str] = field(default_factory=list)  # names created under 导入类 (or that would be)
    property_matter: dict[int, bool] = field(default_factory=dict)


def match_categories(session: Session, values, *, create: bool) -> CategoryMatch:
    """Category id per distinct file value. With create=False (dry run) unknown values map to None
    and are listed in `created` as what an import would create."""
    everything = list(session.scalars(select(Category)))
    groups = {c.id: c for c in everything if c.parent_id is None}
    subs = [c for c in everything if c.parent_id is not None]
    by_code = {c.code: c for c in subs}
    by_name: dict[str, list[Category]] = {}
    for c in subs:
        by_name.setdefault(c.name, []).append(c)
    by_pair = {(groups[c.parent_id].name, c.name): c for c in subs if c.parent_id in groups}
    group = next((c for c in groups.values() if c.code == IMPORTED_GROUP[0]), None)
    imported = {c.name: c for c in subs if group is not None and c.parent_id == group.id}

    out = CategoryMatch(property_matter={c.id: c.property_matter for c in subs})
    for value in sorted(set(values), key=lambda v: (v is None, v or "")):
        found = _known(value, by_code, by_name, by_pair)
        name = (value or UNCLASSIFIED)[:MAX_NAME]
        if found is None:
            found = imported.get(name)
        if found is None:
            out.created.append(name)
            if create:
                if group is None:
                    group = Category(code=IMPORTED_GROUP[0], name=IMPORTED_GROUP[1], kind="event", parent_id=None)
                    session.add(group)
                    session.flush()
                found = Category(code=_next_code(session, group), name=name, parent_id=group.id, kind="event")
                session.add(found)
                session.flush()
                imported[name] = found
                out.property_matter[found.id] = False
        out.ids[value] = found.id if found is not None else None
    return out


def _known(value, by_code, by_name, by_pair):
    if value is None:
        return None
    if value in by_code:
        return by_code[value]
    named = by_name.get(value, [])
    if len(named) == 1:
        return named[0]
    parts = _SPLIT.split(value, maxsplit=1)
    if len(parts) == 2:
        return by_pair.get((parts[0], parts[1]))
    return None


def _next_code(session: Session, group: Category) -> str:
    prefix = f"{group.code}-"
    taken = session.scalars(select(Category.code).where(Category.code.like(f"{prefix}%"))).all()
    numbers = [int(c[len(prefix) :]) for c in taken if c[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"
