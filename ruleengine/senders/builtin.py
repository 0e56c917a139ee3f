"""The built-in destination types and where their senders live (imported on first use)."""

from __future__ import annotations

#: Destination type -> (module in this package, sender class). Modules are imported on first
#: use, so a run that only prints to the console never loads requests, smtplib or apprise.
SENDERS: dict[str, tuple[str, str]] = {
    "console": ("console", "ConsoleSender"),
    "webhook": ("webhook", "WebhookSender"),
    "ruleengine": ("forward", "ForwardSender"),
    "slack": ("slack", "SlackSender"),
    "mattermost": ("slack", "SlackSender"),
    "rocketchat": ("slack", "SlackSender"),
    "teams": ("teams", "TeamsSender"),
    "discord": ("discord", "DiscordSender"),
    "googlechat": ("googlechat", "GoogleChatSender"),
    "matrix": ("matrix", "MatrixSender"),
    "hipchat": ("hipchat", "HipChatSender"),
    "ntfy": ("ntfy", "NtfySender"),
    "gotify": ("gotify", "GotifySender"),
    "zulip": ("zulip", "ZulipSender"),
    "email": ("mail", "EmailSender"),
    "apprise": ("apprise", "AppriseSender"),
}
