"""Another system's status words mapped to ours: a table of known spellings, and for any other word
a classification by the words it contains, in English and Chinese (issue #13).

A status word is looked up, case, spaces, ``_`` and ``-`` ignored, in ``STATUS_SPELLINGS`` (plus
the command's ``--status-map VALUE=STATUS`` pairs, which win). A word in no table is classified
by what it says, negations first understood ("not closed", "unresolved", "未办结", "待办结" are not
closed), in this order:

- duplicate: duplicate, 重复 (so "Closed (Duplicate)" is a duplicate, not a closure);
- rejected: cancel, invalid, withdrawn, void, reject, 作废, 撤销, 撤回, 无效, 取消;
- closed: closed, complete, resolved, done, finished, 完成, 办结, 已结, 结案, 关闭, 办毕;
- otherwise open, in the open state its words suggest: in progress / 处理中 / 办理中 → in_progress,
  assigned / dispatched / 派 / 转办 / 交办 → dispatched, hold / suspend / 挂 / 暂缓 → suspended,
  anything else (Pending, Email Sent, Unassigned, 退回 ...) → reported (the dispatcher's new queue).

Such a ticket is flagged ``unknown_status`` (data.quality) and the import summary prints the
mapping used with a ready ``--status-map`` line to override it.
"""

from __future__ import annotations

import re
import shlex

STATUS_SPELLINGS: dict[str, tuple[str, ...]] = {
    "reported": (
        "new",
        "open",
        "opened",
        "submitted",
        "received",
        "reported",
        "待受理",
        "未受理",
        "待处理",
        "新建",
        "已上报",
    ),
    "accepted": ("accepted", "acknowledged", "已受理", "受理", "已立案", "立案", "待派遣", "待派单"),
    "dispatched": ("assigned", "dispatched", "已派遣", "派遣", "已派单", "已分派", "已转办", "转办", "已交办"),
    "in_progress": (
        "in progress",
        "processing",
        "working",
        "started",
        "处理中",
        "办理中",
        "正在处理",
        "已签收",
        "已接单",
    ),
    "handled": ("handled", "pending review", "已处理", "待核查", "待审核", "已反馈", "待结案"),
    "closed": (
        "closed",
        "completed",
        "complete",
        "done",
        "resolved",
        "finished",
        "已结案",
        "结案",
        "已办结",
        "办结",
        "已完成",
        "完成",
        "已关闭",
        "已回访",
        "已评价",
    ),
    "rejected": (
        "rejected",
        "cancelled",
        "canceled",
        "invalid",
        "void",
        "withdrawn",
        "已作废",
        "作废",
        "不予受理",
        "无效",
        "已撤销",
        "撤销",
    ),
    "duplicate": ("duplicate", "重复", "重复件", "重复工单"),
    "suspended": ("suspended", "on hold", "hold", "deferred", "挂账", "已挂账", "暂缓", "挂起"),
}
OUR_STATUSES = tuple(STATUS_SPELLINGS)

# Word classes, tried in this order. English entries are stems matched at the start of a word
# ("cancel" matches cancelled, cancellation); Chinese entries are matched anywhere.
_CLASSES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("duplicate", ("duplicat",), ("重复",)),
    ("rejected", ("cancel", "invalid", "withdr", "void", "reject", "annul"), ("作废", "撤销", "撤回", "无效", "取消")),
    (
        "closed",
        ("close", "complet", "resolv", "done", "finish"),
        ("完成", "办结", "已结", "结案", "关闭", "办毕", "完毕"),
    ),
    ("in_progress", ("progress", "processing", "working"), ("处理中", "办理中", "在办", "处置中")),
    ("dispatched", ("assign", "dispatch", "referred", "transferred"), ("派", "转办", "交办")),
    ("suspended", ("hold", "suspend", "defer"), ("挂", "暂缓")),
)
# An English keyword is negated when one of these words comes before it in the status ("not
# closed", "pending closure", "to be assigned"); a prefixed word (unresolved) never matches a stem.
_NEGATING_WORDS = frozenset({"not", "no", "never", "non", "pending", "awaiting", "await", "to", "yet", "without"})
_WHOLE_WORDS = frozenset({"done", "void", "hold"})
# A Chinese keyword is negated, when one of these characters stands right before it (未办结, 待办结, 不重复).
_NEGATING_CHARS = "未待不没无非尚"
_WORD = re.compile(r"[a-z]+")


def normalise_status(value: str) -> str:
    return re.sub(r"[\s_\-]+", " ", value.strip().lower())


def status_table(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Normalised file spelling -> our status, with `overrides` ({spelling: status}) on top.
    Raises ValueError for an override to a status that is not ours."""
    table = {normalise_status(s): ours for ours, spellings in STATUS_SPELLINGS.items() for s in spellings}
    table.update({normalise_status(ours): ours for ours in OUR_STATUSES})
    for spelling, ours in (overrides or {}).items():
        if ours not in OUR_STATUSES:
            raise ValueError(f"--status-map {spelling}={ours}: status must be one of {', '.join(OUR_STATUSES)}")
        table[normalise_status(spelling)] = ours
    return table


def classify(value: str) -> str:
    """Our status for a word in no table, by the words it contains (see the module docstring)."""
    text = normalise_status(value)
    words = _WORD.findall(text)
    for status, stems, chinese in _CLASSES:
        if any(_english_says(words, stem) for stem in stems) or any(_chinese_says(text, k) for k in chinese):
            return status
    return "reported"


def _english_says(words: list[str], stem: str) -> bool:
    """A word starts with the stem (so "unresolved", "incomplete", "unassigned", "reopened" do
    not say resolved, complete, assigned, opened) and no negating word comes before it."""
    for i, word in enumerate(words):
        if not word.startswith(stem):
            continue
        if stem in _WHOLE_WORDS and word not in (stem, stem + "s", stem + "ed", stem + "ing"):
            continue  # "holder" is not "hold"
        if not _NEGATING_WORDS.intersection(words[:i]):
            return True
    return False


def _chinese_says(text: str, keyword: str) -> bool:
    start = 0
    while (at := text.find(keyword, start)) >= 0:
        if at == 0 or text[at - 1] not in _NEGATING_CHARS:
            return True
        start = at + 1
    return False


class StatusMapper:
    """Maps a file's status words and remembers what it did, for the summary."""

    def __init__(self, table: dict[str, str]):
        self.table = table
        self.used: dict[str, tuple[str, bool, int]] = {}  # raw word -> (ours, guessed, rows)

    def __call__(self, raw: str) -> tuple[str, bool]:
        """(our status, guessed) for a non-empty status word."""
        key = normalise_status(raw)
        ours = self.table.get(key)
        guessed = ours is None
        if guessed:
            ours = classify(raw)
        _, _, rows = self.used.get(raw, (ours, guessed, 0))
        self.used[raw] = (ours, guessed, rows + 1)
        return ours, guessed

    def lines(self) -> list[str]:
        """The mapping used, most frequent first, and a ready --status-map line for the guesses."""
        if not self.used:
            return []
        order = sorted(self.used.items(), key=lambda kv: (-kv[1][2], kv[0]))
        out = ["Status mapping used (file word -> ours, rows):"]
        for raw, (ours, guessed, rows) in order:
            out.append(
                f"  {raw!r} -> {ours} ({rows}){'  [guessed from its words: flagged unknown_status]' if guessed else ''}"
            )
        guesses = [(raw, ours) for raw, (ours, guessed, _) in order if guessed]
        if guesses:
            pairs = " ".join(f"--status-map {shlex.quote(f'{raw}={ours}')}" for raw, ours in guesses)
            out.append("To keep or change the guesses, add to the command (and edit the statuses):")
            out.append(f"  {pairs}")
        return out
