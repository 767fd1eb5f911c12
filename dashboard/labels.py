"""Every piece of text people see, in one place: Chinese by default, English when GCC_LOCALE=en.
The Dash pages, the phone pages (their Jinja templates get `t`; phone.js gets `templates("phone.js.")`
as JSON from the page), the API's and Open311's labels and notices, the 503 page. `t(key, **values)`
looks a key up in the current app's locale; pure code (figures, Open311 documents, tests) passes the
locale explicitly to `text(key, locale, **values)`.

The data layer gives codes, never words: statuses, actions, roles, intake notices
(`{"code", **values}`: notice_text), automatic escalations (event_note), assignee kinds.
(dashboard/auth still has its own Chinese: issue #12 item 5, to move here.)

tests/test_figures.py checks that both locales have the same keys and the same {placeholders};
tests/test_labels.py that every key the code asks for exists and every code has English words;
tests/test_locale_en.py that GCC_LOCALE=en pages show no Chinese outside data.
"""

from __future__ import annotations

from datetime import datetime

from data.demo.reference import SOURCE_LABELS
from data.workflow import STATUS_LABELS, TRANSITIONS

DEFAULT_LOCALE = "zh"

ZH: dict[str, str] = {
    "app.title": "网格治理指挥中心",
    "app.subtitle": "网格治理指挥中心",
    "app.html_lang": "zh-CN",  # <html lang> of the pages we write ourselves (phone, 503)
    # Header of the big screen.
    "header.as_of": "数据更新于",
    "header.stale": "数据延迟",
    "header.no_data": "暂无数据",
    "header.live": "实时",
    # Access.
    "access.login_needed": "请登录",
    "access.login_hint": "此页面需要登录后查看。",
    "access.login_link": "前往登录",
    "auth.login_title": "登录",
    "auth.username": "用户名",
    "auth.password": "密码",
    "auth.login_button": "登录",
    "auth.kiosk_hint": "大屏请使用管理员提供的大屏链接：",
    "auth.resident_hint": "居民查询工单请使用回执中的链接。",
    "auth.form_expired": "表单已过期，请重新提交。",
    "auth.missing_fields": "请输入用户名和密码。",
    "auth.locked": "登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试。",
    "auth.failed": "用户名或密码错误，或账户已停用。",
    "auth.login_first": "请先登录。",
    "auth.logout_title": "退出",
    "auth.current_user": "当前用户：{name}",
    "auth.logout_button": "退出登录",
    "auth.not_signed_in": "您尚未登录。",
    "auth.refused_title": "无权访问",
    "auth.refused": "您的账户（{name}）无权访问此页面。",
    "auth.home": "返回首页",
    "auth.switch_account": "切换账户",
    "access.denied": "无权限",
    "access.denied_hint": "当前账号无权查看此内容。",
    "access.not_found": "未找到或无权查看：{what}",
    "error.unavailable": "数据暂不可用，正在重试…",
    "error.page": "页面暂时无法显示，请稍后刷新。",
    "error.busy": "数据库繁忙，请几秒后刷新。",
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
    "desk.assignee.grid_worker": "{name}（{area}网格员）",
    "desk.assignee.property_company": "{name}（物业）",
    "desk.assignee.department": "{name}（部门）",
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
    "role.public": "公众",
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
    # Phone pages (dashboard/phone: /report, /t/<token>, /my).
    "phone.brand": "网格治理",
    "phone.photo": "照片",
    "phone.report.title": "随手拍 · 问题上报",
    "phone.report.heading": "随手拍",
    "phone.report.photos": "照片（最多 {n} 张，每张不超过 {mb} MB）",
    "phone.report.category": "问题类别",
    "phone.report.choose": "请选择",
    "phone.report.description": "问题描述",
    "phone.report.description_hint": "请简要描述问题",
    "phone.report.location": "位置",
    "phone.report.gps": "使用我的位置（GPS）",
    "phone.report.tap_map": "或在下图中点选位置（可放大）",
    "phone.report.no_location": "尚未选择位置",
    "phone.report.address": "地址（选填）",
    "phone.report.address_hint": "如：幸福小区 3 栋门口",
    "phone.report.phone": "联系电话（选填，仅工作人员可见）",
    "phone.report.submit": "提交",
    "phone.report.done": "已提交",
    "phone.report.number": "工单号：",
    "phone.report.status_link": "查看办理进度",
    "phone.report.keep_link": "请保存此链接，办结后可在该页面评价。",
    "phone.status.title": "工单 {id} · 办理进度",
    "phone.status.heading": "工单 {id}",
    "phone.status.reported_at": "上报于 {at}",
    "phone.status.expected_at": "预计办结 {at}",
    "phone.status.timeline": "办理过程",
    "phone.status.result_photo": "处理照片",
    "phone.status.rate": "评价",
    "phone.status.comment": "意见（选填）",
    "phone.status.reopen": "问题没有解决，要求重新办理",
    "phone.status.submit_rating": "提交评价",
    "phone.status.your_rating": "您的评价：",
    "phone.my.title": "我的工单",
    "phone.my.none": "暂无待办工单。",
    "phone.my.due": "时限 {due}",
    "phone.my.overdue": "已超期",
    "phone.my.result_photos": "处理结果照片",
    "phone.my.note": "处理说明",
    "phone.my.submit_result": "提交处理结果",
    # What the phone script says (handed to it by the page: dashboard.phone.script_text).
    "phone.js.failed_retry": "提交失败，请稍后再试",
    "phone.js.failed": "提交失败",
    "phone.js.sending": "正在提交…",
    "phone.js.sent": "已提交",
    "phone.js.server_said": "服务器返回 {status}",
    "phone.js.field_error": "{field}：{message}",
    "phone.js.join": "；",
    "phone.js.too_many_photos": "最多 {n} 张照片",
    "phone.js.too_big": "{name} 超过大小限制",
    "phone.js.place": "{how}：{lon}, {lat}",
    "phone.js.map_pick": "地图点选",
    "phone.js.gps_fix": "GPS 定位",
    "phone.js.no_geolocation": "此浏览器不支持定位，请在地图上点选",
    "phone.js.locating": "正在定位…",
    "phone.js.gps_failed": "定位失败（{error}），请在地图上点选",
    # Notices of an intake (data.intake Notice codes), in API answers and on the phone page.
    "notice.possible_duplicate": "附近 {radius_m} 米内已有同类工单在办，可能是重复上报",
    "notice.outside_grids": "位置不在任何网格内，工单进入待分配队列",
    "notice.repeat_alarm": "同一设备的重复告警已并入工单 {ticket_id}（第 {alarms} 次）",
    "notice.media_url_ignored": "media_url 不会被下载（内网）：请以 media 文件上传照片",
    "notice.received": "已受理上报，请保存 token 查询进度",
    "notice.join": "；",
    # Open311 documents.
    "open311.service_description": "{group}/{category}：处置时限 {hours} 小时",
    "open311.contact": "网格治理指挥中心 / dispatch center",
    # Charts: the bar that gathers the rest.
    "chart.other": "其他",
    # Events whose words are the dashboard's (data.workflow writes codes in the event's data).
    "event.response_timeout": "响应超时，自动督办至{level}",
    "event.handling_overdue": "处置超时，自动督办至{level}",
    "event.repeat_alarm": "设备 {device} 再次告警（{alarm_type}，第 {n} 次）",
    "event.with_note": "{words}：{note}",
    "list.separator": "、",
}

EN: dict[str, str] = {
    "app.title": "Grid Command Center",
    "app.subtitle": "Grid Command Center",
    "app.html_lang": "en",
    "header.as_of": "Data as of",
    "header.stale": "STALE",
    "header.no_data": "no data",
    "header.live": "live",
    "access.login_needed": "Please log in",
    "access.login_hint": "This page needs a login.",
    "access.login_link": "Log in",
    "auth.login_title": "Log in",
    "auth.username": "User name",
    "auth.password": "Password",
    "auth.login_button": "Log in",
    "auth.kiosk_hint": "Wall screens use the link an administrator gives them: ",
    "auth.resident_hint": "Residents follow the link on their receipt to see their ticket.",
    "auth.form_expired": "The form has expired; please submit it again.",
    "auth.missing_fields": "Please enter your user name and password.",
    "auth.locked": "Too many failed logins: locked for now, try again in {minutes} minutes.",
    "auth.failed": "Wrong user name or password, or the account is disabled.",
    "auth.login_first": "Please log in first.",
    "auth.logout_title": "Log out",
    "auth.current_user": "Signed in as {name}",
    "auth.logout_button": "Log out",
    "auth.not_signed_in": "You are not logged in.",
    "auth.refused_title": "No access",
    "auth.refused": "Your account ({name}) may not open this page.",
    "auth.home": "Home",
    "auth.switch_account": "Switch account",
    "access.denied": "Not permitted",
    "access.denied_hint": "This account may not see this content.",
    "access.not_found": "Not found or not visible: {what}",
    "error.busy": "The database is busy; reload in a few seconds.",
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
    "desk.assignee.grid_worker": "{name} (grid worker, {area})",
    "desk.assignee.property_company": "{name} (property company)",
    "desk.assignee.department": "{name} (department)",
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
    "role.public": "public",
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
    # Phone pages (dashboard/phone: /report, /t/<token>, /my).
    "phone.brand": "Grid Governance",
    "phone.photo": "Photo",
    "phone.report.title": "Snap & report · Report a problem",
    "phone.report.heading": "Snap & report",
    "phone.report.photos": "Photos (at most {n}, each up to {mb} MB)",
    "phone.report.category": "Kind of problem",
    "phone.report.choose": "Choose…",
    "phone.report.description": "Description",
    "phone.report.description_hint": "Describe the problem in a few words",
    "phone.report.location": "Location",
    "phone.report.gps": "Use my location (GPS)",
    "phone.report.tap_map": "or tap the map below (zoom in with +)",
    "phone.report.no_location": "No location chosen yet",
    "phone.report.address": "Address (optional)",
    "phone.report.address_hint": "e.g. building 3, Xingfu estate",
    "phone.report.phone": "Phone (optional, seen by staff only)",
    "phone.report.submit": "Send",
    "phone.report.done": "Sent",
    "phone.report.number": "Ticket number: ",
    "phone.report.status_link": "Follow its progress",
    "phone.report.keep_link": "Keep this link: once the ticket is closed you can rate it there.",
    "phone.status.title": "Ticket {id} · Progress",
    "phone.status.heading": "Ticket {id}",
    "phone.status.reported_at": "Reported {at}",
    "phone.status.expected_at": "expected by {at}",
    "phone.status.timeline": "Progress",
    "phone.status.result_photo": "Photo of the work",
    "phone.status.rate": "Rate",
    "phone.status.comment": "Comment (optional)",
    "phone.status.reopen": "The problem is not solved: handle it again",
    "phone.status.submit_rating": "Send rating",
    "phone.status.your_rating": "Your rating: ",
    "phone.my.title": "My orders",
    "phone.my.none": "No open orders.",
    "phone.my.due": "Due {due}",
    "phone.my.overdue": "overdue",
    "phone.my.result_photos": "Photos of the result",
    "phone.my.note": "What was done",
    "phone.my.submit_result": "Report the result",
    # What the phone script says (handed to it by the page: dashboard.phone.script_text).
    "phone.js.failed_retry": "Could not send; please try again later",
    "phone.js.failed": "Could not send",
    "phone.js.sending": "Sending…",
    "phone.js.sent": "Sent",
    "phone.js.server_said": "The server answered {status}",
    "phone.js.field_error": "{field}: {message}",
    "phone.js.join": "; ",
    "phone.js.too_many_photos": "At most {n} photos",
    "phone.js.too_big": "{name} is too large",
    "phone.js.place": "{how}: {lon}, {lat}",
    "phone.js.map_pick": "Picked on the map",
    "phone.js.gps_fix": "GPS",
    "phone.js.no_geolocation": "This browser cannot locate you; tap the map instead",
    "phone.js.locating": "Locating…",
    "phone.js.gps_failed": "Could not locate you ({error}); tap the map instead",
    # Notices of an intake (data.intake Notice codes), in API answers and on the phone page.
    "notice.possible_duplicate": "A ticket of the same kind is open within {radius_m} m: this may be a duplicate",
    "notice.outside_grids": "The location is in no grid: the ticket waits in the unassigned queue",
    "notice.repeat_alarm": "The device's repeated alarm was added to ticket {ticket_id} (alarm {alarms})",
    "notice.media_url_ignored": "media_url is not fetched (intranet): upload the photo as a `media` file",
    "notice.received": "Report received: keep the token to follow its progress",
    "notice.join": "; ",
    # Open311 documents.
    "open311.service_description": "{group}/{category}: to be handled within {hours} hours",
    "open311.contact": "Grid Command Center / dispatch center",
    # Charts: the bar that gathers the rest.
    "chart.other": "Other",
    # Events whose words are the dashboard's (data.workflow writes codes in the event's data).
    "event.response_timeout": "Response deadline passed: escalated to {level} level",
    "event.handling_overdue": "Handling deadline passed: escalated to {level} level",
    "event.repeat_alarm": "Device {device} alarmed again ({alarm_type}, alarm {n})",
    "event.with_note": "{words}: {note}",
    "list.separator": ", ",
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


def event_note(action: str, note: str | None, data: dict | None, locale: str | None = None) -> str | None:
    """An event's note in words: what the data layer recorded as codes (an automatic escalation's
    deadline and level, an IoT device's repeated alarm) followed by the note a person or device
    wrote, if any."""
    locale = locale or current_locale()
    data = data or {}
    words = None
    reason = data.get("reason")
    if action == "escalate" and reason in ("response_timeout", "handling_overdue"):
        to = data.get("to")
        level = text(f"level.{to}", locale) if f"level.{to}" in ZH else to
        words = text(f"event.{reason}", locale, level=level)
    elif action == "comment" and isinstance(data.get("repeat_alarm"), dict):
        alarm = data["repeat_alarm"]
        device, kind, n = alarm.get("device_id"), alarm.get("alarm_type"), alarm.get("alarms")
        words = text("event.repeat_alarm", locale, device=device, alarm_type=kind, n=n)
    if words and note:
        return text("event.with_note", locale, words=words, note=note)
    return words or note or None


def templates(prefix: str, locale: str | None = None) -> dict[str, str]:
    """The unformatted labels under `prefix` ("phone.js."), keyed by the rest of their key: for a
    script that fills the {placeholders} itself (dashboard/phone/static/phone.js)."""
    table = LOCALES.get(locale or current_locale(), ZH)
    return {k[len(prefix) :]: table.get(k) or v for k, v in ZH.items() if k.startswith(prefix)}


def notice_text(notice: dict | str, locale: str | None = None) -> str:
    """An intake notice (data.intake.transaction.notice: {"code", **values}) in words; a plain
    string (an idempotent replay stored before notices had codes) as it is."""
    if isinstance(notice, str):
        return notice
    values = {k: v for k, v in notice.items() if k != "code"}
    return text(f"notice.{notice['code']}", locale or current_locale(), **values)


def notices_text(notices: list[dict], locale: str | None = None) -> list[str]:
    return [notice_text(n, locale) for n in notices]


def role_label(role: str, locale: str | None = None) -> str:
    """A data.access role in words (the viewer's name, when it has one, is data)."""
    key = f"role.{role}"
    return text(key, locale or current_locale()) if key in ZH else role


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
