"""The weekly report (周报, issue #10): the wall as the week ended, indicator tables, 红黑榜, the
longest-overdue orders, a Chinese summary, archived per ISO week and optionally sent.

    weeks      ISO week names (2026-W47) ↔ [start, end) instants in GCC_TIMEZONE
    models     the `reports` table: one row per week (status, files, sizes, times, error)
    content    the week's numbers, all from data.indicators (never a formula of its own)
    summary    the Chinese sentences, from templates over those numbers
    capture    headless Chromium (Playwright): log in as the report account, screenshot, check
    render     the HTML report (Jinja2) and its PDF (Chromium's print)
    archive    instance/reports/<week>/: written to a temporary folder, swapped in whole
    delivery   e-mail (SMTP) and a group-robot webhook (WeCom / DingTalk / Feishu), off by default
    run        generate(): claim the week's row, build, archive, deliver, record
    job        the scheduler job (GCC_REPORT_CRON) and its retry
    cli        `python app.py report`
"""
