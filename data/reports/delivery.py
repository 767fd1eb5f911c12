"""Sending a finished report, off by default: e-mail over SMTP (GCC_REPORT_SMTP_HOST, ..._MAIL_TO)
and a group-robot webhook (GCC_REPORT_WEBHOOK_URL) in the message format of WeCom (企业微信),
DingTalk (钉钉) or Feishu (飞书): the markdown summary, then the wall picture.

WeCom's robot takes the picture itself (an "image" message, base64 + md5, at most 2 MB); DingTalk's
and Feishu's custom robots take only a link to it, so they get GCC_REPORT_BASE_URL's link to the
archived PNG (behind the login) when that is set. A delivery failure is recorded on the week's row
(`delivery`) and does not undo the archived report."""

from __future__ import annotations

import base64
import hashlib
import json
import smtplib
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from data.settings import Settings


def markdown(title: str, sentences: list[str], link: str | None) -> str:
    lines = [f"## {title}", "", *(f"- {s}" for s in sentences)]
    if link:
        lines += ["", f"[查看完整周报（HTML / PDF）]({link})"]
    return "\n".join(lines)


def send_email(
    settings: Settings, subject: str, sentences: list[str], attachments: list[Path], link: str | None
) -> str:
    to = [a.strip() for a in settings.gcc_report_mail_to.split(",") if a.strip()]
    if not to:
        raise ValueError("GCC_REPORT_MAIL_TO is empty")
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.gcc_report_mail_from
    msg["To"] = ", ".join(to)
    body = "\n".join(sentences) + (f"\n\n完整周报：{link}" if link else "")
    msg.set_content(body)
    msg.add_alternative(
        "<html><body>"
        + "".join(f"<p>{s}</p>" for s in sentences)
        + (f'<p><a href="{link}">完整周报</a></p>' if link else "")
        + "</body></html>",
        subtype="html",
    )
    for path in attachments:
        kind = (
            ("application", "pdf")
            if path.suffix == ".pdf"
            else ("image", "png")
            if path.suffix == ".png"
            else ("text", "html")
        )
        msg.add_attachment(path.read_bytes(), maintype=kind[0], subtype=kind[1], filename=path.name)
    with smtplib.SMTP(settings.gcc_report_smtp_host, settings.gcc_report_smtp_port, timeout=30) as smtp:
        if settings.gcc_report_smtp_starttls:
            smtp.starttls()
        if settings.gcc_report_smtp_user:
            smtp.login(settings.gcc_report_smtp_user, settings.gcc_report_smtp_password)
        smtp.send_message(msg)
    return f"sent to {len(to)}"


def webhook_messages(fmt: str, title: str, text: str, picture: Path | None, picture_link: str | None) -> list[dict]:
    """The robot messages, in order: the markdown summary, then the picture (or its link)."""
    if fmt == "wecom":
        out = [{"msgtype": "markdown", "markdown": {"content": text}}]
        if picture is not None and picture.stat().st_size <= 2 * 1024 * 1024:
            data = picture.read_bytes()
            out.append(
                {
                    "msgtype": "image",
                    "image": {"base64": base64.b64encode(data).decode(), "md5": hashlib.md5(data).hexdigest()},
                }
            )
        elif picture_link:
            out[0]["markdown"]["content"] += f"\n\n[大屏截图]({picture_link})"
        return out
    if fmt == "dingtalk":
        body = text + (f"\n\n![大屏截图]({picture_link})" if picture_link else "")
        return [{"msgtype": "markdown", "markdown": {"title": title, "text": body}}]
    if fmt == "feishu":
        body = text.replace("## ", "**", 1).replace("\n", "**\n", 1) if text.startswith("## ") else text
        if picture_link:
            body += f"\n[大屏截图]({picture_link})"
        return [
            {
                "msg_type": "interactive",
                "card": {
                    "header": {"title": {"tag": "plain_text", "content": title}},
                    "elements": [{"tag": "markdown", "content": body}],
                },
            }
        ]
    raise ValueError(f"unknown webhook format {fmt!r}")


def post_json(url: str, payload: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload, ensure_ascii=False).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {}
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0))) if isinstance(answer, dict) else 0
    if code not in (0, None):
        raise RuntimeError(f"the robot answered {raw[:200]!r}")


def send_webhook(settings: Settings, title: str, text: str, picture: Path | None, picture_link: str | None) -> str:
    messages = webhook_messages(settings.gcc_report_webhook_format, title, text, picture, picture_link)
    for message in messages:
        post_json(settings.gcc_report_webhook_url, message)
    return f"sent {len(messages)} message(s)"


def deliver(settings: Settings, *, title: str, sentences: list[str], folder: Path, week: str) -> dict:
    """Every configured channel; {"email": "sent to 2", "webhook": "failed: ..."}; {} when none is set."""
    base = settings.gcc_report_base_url.rstrip("/")
    link = f"{base}/reports/{week}/report.html" if base else None
    picture = folder / "screen.png"
    picture_link = f"{base}/reports/{week}/screen.png" if base else None
    out = {}
    if settings.gcc_report_smtp_host:
        try:
            files = [folder / "report.pdf", picture]
            out["email"] = send_email(settings, title, sentences, [f for f in files if f.exists()], link)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded, the report stays
            out["email"] = f"failed: {exc}"[:300]
    if settings.gcc_report_webhook_url:
        try:
            text = markdown(title, sentences, link)
            out["webhook"] = send_webhook(settings, title, text, picture if picture.exists() else None, picture_link)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded, the report stays
            out["webhook"] = f"failed: {exc}"[:300]
    return out
