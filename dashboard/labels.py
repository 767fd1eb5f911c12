"""Every piece of text the pages show, in one place: Chinese by default, English when
GCC_LOCALE=en. `t(key, **values)` looks a key up in the current app's locale; pure code (figures,
tests) passes the locale explicitly to `text(key, locale, **values)`.

tests/test_labels.py checks that both locales have the same keys and the same {placeholders}.
"""

from __future__ import annotations

from datetime import datetime

from data.demo.reference import SOURCE_LABELS
from data.workflow import STATUS_LABELS, TRANSITIONS

DEFAULT_LOCALE = "zh"

ZH: dict[str, str] = {
    "app.title": "网格治理指挥中心",
    "app.subtitle": "网格治理指挥中心",
    # Header of the big screen.
    "header.as_of": "数据更新于",
    "header.stale": "数据延迟",
    "header.no_data": "暂无数据",
    "header.live": "实时",
    # Historical views (?as_of= / ?week=, issue #10).
    "history.banner": "历史视图 · {moment}",
    "history.note": "按工单历史还原当时状态，页面不自动刷新",
    "history.live": "返回实时",
    "history.bad": "历史视图参数无效：{detail}",
    "history.indicators": "当时指标",
    # Access.
    "access.login_needed": "请登录",
    "access.login_hint": "此页面需要登录后查看。",
    "access.login_link": "前往登录",
    "access.denied": "无权限",
    "access.denied_hint": "当前账号无权查看此内容。",
    "access.not_found": "未找到或无权查看：{what}",
    "error.unavailable": "数据暂不可用，正在重试…",
    "error.page": "页面暂时无法显示，请稍后刷新。",
    # KPI cards.
    "kpi.reported_today": "今日上报",
    "kpi.dispatched_today": "今日派单",
    "kpi.closed_today": "今日结案",
    "kpi.open_now": "在办工单",
    "kpi.overdue_now": "超期工单",
    "kpi.escalated_now": "督办中",
    "kpi.on_time_7d": "按期结案率·7天",
    "kpi.satisfaction_30d": "满意率·30天",
    "kpi.vs_yesterday": "较昨日同时",
    "kpi.vs_prev_7d": "较前7天",
    "kpi.vs_prev_30d": "较前30天",
    "kpi.share_of_open": "占在办 {share}",
    "kpi.dispatch_share": "占今日上报 {share}",
    "kpi.awaiting": "待受理 {n}",
    "kpi.points": "{sign}{value}个点",
    "kpi.no_rate": "—",
    # Map.
    "map.title": "网格态势",
    "map.metric.open_now": "在办工单",
    "map.metric.overdue_now": "超期工单",
    "map.metric.on_time_7d": "按期结案率",
    "map.metric.per_1000": "千人上报量",
    "map.metric_hint.open_now": "件",
    "map.metric_hint.overdue_now": "件",
    "map.metric_hint.on_time_7d": "近7天",
    "map.metric_hint.per_1000": "近30天·每千人",
    "map.legend.heat": "24小时上报热力",
    "map.legend.overdue": "超期工单",
    "map.legend.nodata": "无数据",
    "map.focus": "聚焦：{name}",
    "map.overdue_hover": "超期 {hours} 小时",
    # Charts.
    "trend.title": "近30天 上报 / 结案",
    "trend.reported": "上报",
    "trend.closed": "结案",
    "hourly.title": "今日分时上报",
    "hourly.today": "今日",
    "hourly.yesterday": "昨日",
    "category.title": "类别构成·近7天",
    "source.title": "来源构成·近7天",
    "chart.empty": "暂无数据",
    # Ranking.
    "ranking.title": "网格排行·按期结案率(7天)",
    "ranking.best": "红榜",
    "ranking.worst": "待改进",
    "ranking.volume": "应结{n}",
    "ranking.empty": "应结案不足 {n} 件的网格不参与排名",
    # Feed.
    "feed.title": "实时工单",
    "feed.empty": "暂无新工单",
    # Levels.
    "level.district": "区县",
    "level.street": "街道",
    "level.community": "社区",
    "level.grid": "网格",
    # Drill-down pages.
    "drill.back": "返回大屏",
    "drill.code": "编码 {code}",
    "drill.indicators": "当前指标",
    "drill.weekly": "每周指标(近12周)",
    "drill.loading": "正在计算…",
    "drill.team": "责任团队",
    "drill.profile": "人口房屋",
    "drill.tickets": "工单列表",
    "drill.map": "区域地图",
    "drill.children": "下辖{level} {n} 个",
    "drill.grids": "网格数",
    "drill.reported_30d": "近30天上报",
    "drill.rows_shown": "共 {total} 件，显示最新 {shown} 件（请缩小筛选范围）",
    "drill.rows": "共 {total} 件",
    "team.grid_worker": "网格员",
    "team.grid_head": "网格长",
    "team.property": "物业公司",
    "team.supervisor": "负责人",
    "team.none": "未配置",
    "profile.population": "常住人口",
    "profile.households": "户数",
    "profile.houses": "房屋",
    "profile.low_income": "低保",
    "profile.disabled": "残疾人",
    "profile.elderly_alone": "独居老人",
    "profile.suppressed": "少于5的重点人群数量不显示具体数值",
    "weekly.reported": "上报",
    "weekly.closed": "结案",
    "weekly.on_time": "按期结案率",
    # Filters.
    "filter.period": "时段",
    "filter.category": "类别",
    "filter.status": "状态",
    "filter.all": "全部",
    "period.7d": "近7天",
    "period.30d": "近30天",
    "period.90d": "近90天",
    "period.365d": "近1年",
    "status_group.open": "在办",
    "status_group.overdue": "超期",
    "status_group.closed": "已办结",
    "status_group.void": "作废/重复",
    "table.csv": "导出CSV",
    "table.id": "工单号",
    "table.created": "上报时间",
    "table.category": "类别",
    "table.status": "状态",
    "table.grid": "网格",
    "table.source": "来源",
    "table.address": "地址",
    "table.assignee": "处理人",
    "table.due": "办结时限",
    "table.overdue": "超期",
    "table.escalation": "督办",
    "table.yes": "是",
    "table.no": "",
    # Ticket page.
    "ticket.title": "工单 {id}",
    "ticket.photos": "现场照片",
    "ticket.no_photos": "无照片",
    "ticket.location": "位置",
    "ticket.no_location": "无坐标",
    "ticket.history": "处理记录",
    "ticket.deadlines": "时限",
    "ticket.response_due": "响应时限",
    "ticket.handle_due": "办结时限",
    "ticket.left": "剩余 {d}",
    "ticket.overdue_by": "已超期 {d}",
    "ticket.met": "已完成（{at}）",
    "ticket.late": "已完成，超期 {d}",
    "ticket.none": "未设定",
    "ticket.description": "问题描述",
    "ticket.reporter": "上报人",
    "ticket.category": "类别",
    "ticket.source": "来源",
    "ticket.grid": "所属网格",
    "ticket.address": "地址",
    "ticket.assignee": "处理人",
    "ticket.priority": "优先级",
    "ticket.escalation": "督办级别",
    "ticket.rating": "评价",
    "ticket.match": "定位方式",
    "ticket.open_full": "查看原图",
    "ticket.ended": "已结束（无办结时间）",
    "ticket.system": "来源系统",
    "ticket.source_status": "原系统状态",
    "ticket.data_quality": "数据质量",
    "quality.time_order": "结案早于受理",
    "quality.closed_without_time": "已办结无办结时间",
    "quality.unknown_status": "状态未识别（按字面归类）",
    "quality.unreadable_time": "时间无法识别",
    "quality.created_in_future": "受理时间晚于导入",
    "quality.location_missing": "无有效坐标",
    "quality.location_outside": "坐标不在任何网格",
    "priority.1": "紧急",
    "priority.2": "一般",
    "priority.3": "较低",
    "escalation.0": "无",
    "escalation.1": "社区督办",
    "escalation.2": "街道督办",
    "duration.days": "{d}天{h}小时",
    "duration.hours": "{h}小时{m}分",
    "duration.minutes": "{m}分钟",
    # Desk.
    "desk.title": "调度台",
    "desk.queue.new": "待受理",
    "desk.queue.unassigned": "待派遣",
    "desk.queue.overdue": "超期",
    "desk.queue.escalated": "督办",
    "desk.queue.unlocated": "位置待定",
    "desk.pick": "从左侧队列选择一个工单",
    "desk.actions": "可执行操作",
    "desk.no_actions": "当前状态下没有可执行的操作",
    "desk.note": "说明 / 原因",
    "desk.assignee": "指派给（留空则按网格自动派遣）",
    "desk.assignee_required": "指派给",
    "desk.duplicate_of": "原工单号",
    "desk.rating": "评价",
    "desk.lon": "经度 (WGS84)",
    "desk.lat": "纬度 (WGS84)",
    "desk.confirm": "确认{action}",
    "desk.done": "已{action}：工单 {id}",
    "desk.refresh": "刷新",
    "desk.open_ticket": "打开工单详情",
    "desk.queue_empty": "队列为空",
    "desk.bad_number": "请输入有效的数字：{field}",
    "desk.staff": "人员",
    "desk.org": "单位",
    # Workflow errors (data.workflow.WorkflowError codes).
    "wf.unknown_action": "未知操作",
    "wf.invalid_state": "工单当前状态不允许此操作",
    "wf.reason_required": "请填写原因",
    "wf.note_required": "请填写说明",
    "wf.duplicate_of_required": "请填写原工单号",
    "wf.bad_duplicate_of": "原工单号无效",
    "wf.assignee_required": "请选择新的处理人",
    "wf.no_assignee": "该网格没有可自动派遣的责任人，请手动选择处理人",
    "wf.bad_assignee": "处理人不存在或已停用",
    "wf.photo_required": "需要上传处理后照片",
    "wf.bad_rating": "请选择评价",
    "wf.not_unsatisfied": "只有“不满意”的工单可以重新办理",
    "wf.max_escalation": "已督办至街道，不能再升级",
    "wf.location_required": "请填写新的位置坐标",
    "wf.outside": "该位置不在任何网格内",
    "wf.denied": "无权限执行此操作",
    "wf.failed": "操作失败：{message}",
    # Roles (who did what, in the ticket history).
    "role.admin": "管理员",
    "role.dispatcher": "调度员",
    "role.supervisor": "督办领导",
    "role.grid_worker": "网格员",
    "role.grid_head": "网格长",
    "role.property": "物业",
    "role.department": "职能部门",
    "role.kiosk": "大屏",
    "role.resident": "居民",
    "role.anonymous": "访客",
    "role.system": "系统",
    # Home.
    "home.title": "网格治理指挥中心",
    "home.screen": "指挥大屏",
    "home.desk": "调度台",
    "home.region": "我的辖区",
    "home.logout": "退出登录",
    "home.login": "登录",
    # Weekdays (Monday first).
    "weekday.0": "星期一",
    "weekday.1": "星期二",
    "weekday.2": "星期三",
    "weekday.3": "星期四",
    "weekday.4": "星期五",
    "weekday.5": "星期六",
    "weekday.6": "星期日",
}

EN: dict[str, str] = {
    "app.title": "Grid Command Center",
    "app.subtitle": "Grid Command Center",
    "header.as_of": "Data as of",
    "header.stale": "STALE",
    "header.no_data": "no data",
    "header.live": "live",
    "history.banner": "Historical view · {moment}",
    "history.note": "Rebuilt from the tickets' history; this page does not refresh",
    "history.live": "Back to live",
    "history.bad": "Invalid historical view: {detail}",
    "history.indicators": "Indicators then",
    "access.login_needed": "Please log in",
    "access.login_hint": "This page needs a login.",
    "access.login_link": "Log in",
    "access.denied": "Not permitted",
    "access.denied_hint": "This account may not see this content.",
    "access.not_found": "Not found or not visible: {what}",
    "error.unavailable": "Data unavailable, retrying…",
    "error.page": "This page cannot be shown right now; please reload shortly.",
    "kpi.reported_today": "Reported today",
    "kpi.dispatched_today": "Dispatched today",
    "kpi.closed_today": "Closed today",
    "kpi.open_now": "Open",
    "kpi.overdue_now": "Overdue",
    "kpi.escalated_now": "Escalated",
    "kpi.on_time_7d": "On-time closure · 7d",
    "kpi.satisfaction_30d": "Satisfaction · 30d",
    "kpi.vs_yesterday": "vs same time yesterday",
    "kpi.vs_prev_7d": "vs previous 7d",
    "kpi.vs_prev_30d": "vs previous 30d",
    "kpi.share_of_open": "{share} of open",
    "kpi.dispatch_share": "{share} of today's reports",
    "kpi.awaiting": "{n} awaiting acceptance",
    "kpi.points": "{sign}{value} pt",
    "kpi.no_rate": "—",
    "map.title": "Grids",
    "map.metric.open_now": "Open orders",
    "map.metric.overdue_now": "Overdue orders",
    "map.metric.on_time_7d": "On-time closure",
    "map.metric.per_1000": "Reports per 1,000",
    "map.metric_hint.open_now": "orders",
    "map.metric_hint.overdue_now": "orders",
    "map.metric_hint.on_time_7d": "last 7 days",
    "map.metric_hint.per_1000": "30 days, per 1,000 residents",
    "map.legend.heat": "Reports, last 24 h",
    "map.legend.overdue": "Overdue order",
    "map.legend.nodata": "No data",
    "map.focus": "Focus: {name}",
    "map.overdue_hover": "overdue {hours} h",
    "trend.title": "Reported / closed, 30 days",
    "trend.reported": "Reported",
    "trend.closed": "Closed",
    "hourly.title": "Reports by hour today",
    "hourly.today": "Today",
    "hourly.yesterday": "Yesterday",
    "category.title": "Categories · 7d",
    "source.title": "Channels · 7d",
    "chart.empty": "No data",
    "ranking.title": "Grid ranking · on-time closure (7d)",
    "ranking.best": "Best",
    "ranking.worst": "Needs attention",
    "ranking.volume": "due {n}",
    "ranking.empty": "Grids with fewer than {n} orders due are not ranked",
    "feed.title": "Latest reports",
    "feed.empty": "No new reports",
    "level.district": "District",
    "level.street": "Street",
    "level.community": "Community",
    "level.grid": "Grid",
    "drill.back": "Back to the wall",
    "drill.code": "code {code}",
    "drill.indicators": "Indicators now",
    "drill.weekly": "Weekly indicators (12 weeks)",
    "drill.loading": "Computing…",
    "drill.team": "Team",
    "drill.profile": "People and houses",
    "drill.tickets": "Tickets",
    "drill.map": "Map",
    "drill.children": "{n} {level}s",
    "drill.grids": "Grids",
    "drill.reported_30d": "Reported, 30 days",
    "drill.rows_shown": "{total} tickets, newest {shown} shown (narrow the filters)",
    "drill.rows": "{total} tickets",
    "team.grid_worker": "Grid worker",
    "team.grid_head": "Grid head",
    "team.property": "Property company",
    "team.supervisor": "In charge",
    "team.none": "not set",
    "profile.population": "Residents",
    "profile.households": "Households",
    "profile.houses": "Houses",
    "profile.low_income": "Low income",
    "profile.disabled": "Disabled",
    "profile.elderly_alone": "Elderly living alone",
    "profile.suppressed": "Key-group counts below 5 are not shown",
    "weekly.reported": "Reported",
    "weekly.closed": "Closed",
    "weekly.on_time": "On-time closure",
    "filter.period": "Period",
    "filter.category": "Category",
    "filter.status": "Status",
    "filter.all": "All",
    "period.7d": "7 days",
    "period.30d": "30 days",
    "period.90d": "90 days",
    "period.365d": "1 year",
    "status_group.open": "Open",
    "status_group.overdue": "Overdue",
    "status_group.closed": "Closed",
    "status_group.void": "Rejected/duplicate",
    "table.csv": "Download CSV",
    "table.id": "Ticket",
    "table.created": "Reported",
    "table.category": "Category",
    "table.status": "Status",
    "table.grid": "Grid",
    "table.source": "Channel",
    "table.address": "Address",
    "table.assignee": "Assignee",
    "table.due": "Due",
    "table.overdue": "Overdue",
    "table.escalation": "Escalated",
    "table.yes": "yes",
    "table.no": "",
    "ticket.title": "Ticket {id}",
    "ticket.photos": "Photos",
    "ticket.no_photos": "No photos",
    "ticket.location": "Location",
    "ticket.no_location": "No coordinates",
    "ticket.history": "History",
    "ticket.deadlines": "Deadlines",
    "ticket.response_due": "Response due",
    "ticket.handle_due": "Handling due",
    "ticket.left": "{d} left",
    "ticket.overdue_by": "overdue by {d}",
    "ticket.met": "done ({at})",
    "ticket.late": "done, {d} late",
    "ticket.none": "not set",
    "ticket.description": "Description",
    "ticket.reporter": "Reporter",
    "ticket.category": "Category",
    "ticket.source": "Channel",
    "ticket.grid": "Grid",
    "ticket.address": "Address",
    "ticket.assignee": "Assignee",
    "ticket.priority": "Priority",
    "ticket.escalation": "Escalation",
    "ticket.rating": "Rating",
    "ticket.match": "Placed by",
    "ticket.open_full": "Full size",
    "ticket.ended": "ended (no close time)",
    "ticket.system": "Source system",
    "ticket.source_status": "Status in that system",
    "ticket.data_quality": "Data quality",
    "quality.time_order": "closed before opened",
    "quality.closed_without_time": "closed without a close time",
    "quality.unknown_status": "unknown status (classified by its words)",
    "quality.unreadable_time": "unreadable time",
    "quality.created_in_future": "created after the import",
    "quality.location_missing": "no usable point",
    "quality.location_outside": "point outside every grid",
    "priority.1": "urgent",
    "priority.2": "normal",
    "priority.3": "low",
    "escalation.0": "none",
    "escalation.1": "community",
    "escalation.2": "street",
    "duration.days": "{d} d {h} h",
    "duration.hours": "{h} h {m} min",
    "duration.minutes": "{m} min",
    "desk.title": "Dispatch desk",
    "desk.queue.new": "New",
    "desk.queue.unassigned": "To dispatch",
    "desk.queue.overdue": "Overdue",
    "desk.queue.escalated": "Escalated",
    "desk.queue.unlocated": "No grid",
    "desk.pick": "Pick a ticket from a queue",
    "desk.actions": "Actions",
    "desk.no_actions": "No action is possible in this state",
    "desk.note": "Note / reason",
    "desk.assignee": "Assign to (empty: the grid's team)",
    "desk.assignee_required": "Assign to",
    "desk.duplicate_of": "Original ticket id",
    "desk.rating": "Rating",
    "desk.lon": "Longitude (WGS84)",
    "desk.lat": "Latitude (WGS84)",
    "desk.confirm": "Confirm: {action}",
    "desk.done": "{action}: ticket {id}",
    "desk.refresh": "Refresh",
    "desk.open_ticket": "Open the ticket",
    "desk.queue_empty": "Queue is empty",
    "desk.bad_number": "Enter a valid number: {field}",
    "desk.staff": "Staff",
    "desk.org": "Organisation",
    "wf.unknown_action": "Unknown action",
    "wf.invalid_state": "The ticket's state does not allow this action",
    "wf.reason_required": "A reason is required",
    "wf.note_required": "A note is required",
    "wf.duplicate_of_required": "Enter the original ticket id",
    "wf.bad_duplicate_of": "The original ticket id is not valid",
    "wf.assignee_required": "Choose the new assignee",
    "wf.no_assignee": "The grid has no team for automatic dispatch; choose an assignee",
    "wf.bad_assignee": "The assignee does not exist or is inactive",
    "wf.photo_required": "A photo of the result is required",
    "wf.bad_rating": "Choose a rating",
    "wf.not_unsatisfied": "Only a ticket rated unsatisfied can be reopened",
    "wf.max_escalation": "Already escalated to the street",
    "wf.location_required": "Enter the new coordinates",
    "wf.outside": "That point is in no grid",
    "wf.denied": "Not permitted",
    "wf.failed": "Action failed: {message}",
    "role.admin": "admin",
    "role.dispatcher": "dispatcher",
    "role.supervisor": "supervisor",
    "role.grid_worker": "grid worker",
    "role.grid_head": "grid head",
    "role.property": "property company",
    "role.department": "department",
    "role.kiosk": "wall screen",
    "role.resident": "resident",
    "role.anonymous": "visitor",
    "role.system": "system",
    "home.title": "Grid Command Center",
    "home.screen": "Wall screen",
    "home.desk": "Dispatch desk",
    "home.region": "My area",
    "home.logout": "Log out",
    "home.login": "Log in",
    "weekday.0": "Monday",
    "weekday.1": "Tuesday",
    "weekday.2": "Wednesday",
    "weekday.3": "Thursday",
    "weekday.4": "Friday",
    "weekday.5": "Saturday",
    "weekday.6": "Sunday",
}

SOURCES_EN = {
    "resident": "Resident app",
    "patrol": "Grid patrol",
    "hotline": "12345 hotline",
    "iot": "IoT alert",
    "leader": "Leader assigned",
    "import": "Imported",
}
STATUS_EN = {
    "reported": "New",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "duplicate": "Duplicate",
    "dispatched": "Dispatched",
    "in_progress": "In progress",
    "handled": "To verify",
    "closed": "Closed",
    "rated": "Rated",
    "suspended": "Suspended",
}
ACTIONS_EN = {
    "report": "Reported",
    "accept": "Accept",
    "reject": "Reject",
    "mark_duplicate": "Mark duplicate",
    "dispatch": "Dispatch",
    "reassign": "Reassign",
    "respond": "Respond",
    "handle": "Report result",
    "verify_close": "Verify and close",
    "send_back": "Send back",
    "rate": "Rate",
    "reopen": "Reopen",
    "suspend": "Suspend",
    "resume": "Resume",
    "escalate": "Escalate",
    "relocate": "Relocate",
    "comment": "Comment",
    "regrid": "Re-gridded",
    "sync": "Synced from its system",
    "import": "Imported",
    "auto_escalate": "Escalated (deadline)",
    "overdue": "Overdue",
}
# Events the scheduler writes have actions outside TRANSITIONS.
ACTIONS_ZH_EXTRA = {"report": "上报", "import": "导入", "auto_escalate": "超时督办", "overdue": "超期"}
RATINGS_EN = {"satisfied": "Satisfied", "basic": "Fairly satisfied", "unsatisfied": "Unsatisfied"}
MATCH_ZH = {
    "inside": "网格内",
    "boundary": "网格边界",
    "overlap": "网格重叠",
    "nearest": "就近网格",
    "unassigned": "未落入网格",
}
MATCH_EN = {
    "inside": "inside",
    "boundary": "on a border",
    "overlap": "overlap",
    "nearest": "nearest grid",
    "unassigned": "no grid",
}

LOCALES = {"zh": ZH, "en": EN}

# AG Grid's own words (pagination, column filters) in Chinese; English is AG Grid's default.
AG_GRID_ZH = {
    "page": "第",
    "to": "至",
    "of": "/ 共",
    "more": "更多",
    "next": "下一页",
    "last": "末页",
    "first": "首页",
    "previous": "上一页",
    "pageLastRowUnknown": "?",
    "pageSizeSelectorLabel": "每页",
    "loadingOoo": "加载中…",
    "noRowsToShow": "没有工单",
    "filterOoo": "筛选…",
    "equals": "等于",
    "notEqual": "不等于",
    "blank": "为空",
    "notBlank": "不为空",
    "contains": "包含",
    "notContains": "不包含",
    "startsWith": "开头是",
    "endsWith": "结尾是",
    "lessThan": "小于",
    "greaterThan": "大于",
    "inRange": "介于",
    "andCondition": "且",
    "orCondition": "或",
    "applyFilter": "应用",
    "resetFilter": "重置",
    "clearFilter": "清除",
    "cancelFilter": "取消",
    "selectAll": "全选",
    "searchOoo": "搜索…",
}


def ag_grid_text(locale: str | None = None) -> dict:
    return AG_GRID_ZH if (locale or current_locale()) == "zh" else {}


def current_locale() -> str:
    """The locale of the running app (GCC_LOCALE), or the default outside a request."""
    from flask import current_app, has_app_context

    if has_app_context():
        settings = current_app.extensions.get("gcc_settings")
        if settings is not None:
            return getattr(settings, "gcc_locale", DEFAULT_LOCALE)
    return DEFAULT_LOCALE


def text(key: str, locale: str = DEFAULT_LOCALE, /, **values) -> str:
    table = LOCALES.get(locale, ZH)
    template = table.get(key) or ZH.get(key)
    if template is None:
        raise KeyError(f"no label {key!r}")
    return template.format(**values) if values else template


def t(key: str, /, **values) -> str:
    return text(key, current_locale(), **values)


def status_label(status: str, locale: str | None = None) -> str:
    locale = locale or current_locale()
    return (STATUS_EN if locale == "en" else STATUS_LABELS).get(status, status)


def source_label(source: str, locale: str | None = None) -> str:
    locale = locale or current_locale()
    return (SOURCES_EN if locale == "en" else SOURCE_LABELS).get(source, source)


def action_label(action: str, locale: str | None = None) -> str:
    locale = locale or current_locale()
    if locale == "en":
        return ACTIONS_EN.get(action, action)
    if action in TRANSITIONS:
        return TRANSITIONS[action].label
    return ACTIONS_ZH_EXTRA.get(action, action)


def rating_label(rating: str | None, locale: str | None = None) -> str:
    from data.models import RATINGS

    if not rating:
        return ""
    locale = locale or current_locale()
    return (RATINGS_EN if locale == "en" else RATINGS).get(rating, rating)


def quality_label(flag: str, locale: str | None = None) -> str:
    """A data-quality flag (data.quality.FLAGS) in words."""
    key = f"quality.{flag}"
    return text(key, locale or current_locale()) if key in ZH else flag


def match_label(match: str | None, locale: str | None = None) -> str:
    locale = locale or current_locale()
    return (MATCH_EN if locale == "en" else MATCH_ZH).get(match or "", match or "")


def weekday(at: datetime, locale: str | None = None) -> str:
    return text(f"weekday.{at.weekday()}", locale or current_locale())


def duration(seconds: float, locale: str | None = None) -> str:
    """A duration for deadlines: 2天3小时, 5小时12分, 40分钟."""
    locale = locale or current_locale()
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return text("duration.days", locale, d=days, h=hours)
    if hours:
        return text("duration.hours", locale, h=hours, m=mins)
    return text("duration.minutes", locale, m=mins)
