"""Settings read from the environment (and a `.env` file), in one immutable object.

Nothing reads os.environ anywhere else: the app factory, the CLI and the tests build a
`Settings` and pass it down, so a test can run two differently configured bots side by side.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
# Where WeCom's web authorisation starts (构造网页授权链接); the fake WeCom serves it in tests.
DEFAULT_OAUTH_BASE = "https://open.weixin.qq.com"

# The WeCom settings without which the bot cannot talk to WeCom (serve refuses to start).
WECOM_REQUIRED = (
    "WECOM_CORP_ID",
    "WECOM_AGENT_ID",
    "WECOM_SECRET",
    "WECOM_TOKEN",
    "WECOM_ENCODING_AES_KEY",
)


# Loopback and the private ranges: the console is not on the internet unless you say so.
DEFAULT_CONSOLE_ALLOW = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)


def _default_database_url() -> str:
    return "sqlite:///" + str(Path("instance").resolve() / "safetybot.db")


@dataclass(frozen=True)
class Settings:
    corp_id: str = ""
    agent_id: int = 0
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base: str = DEFAULT_API_BASE
    oauth_base: str = DEFAULT_OAUTH_BASE
    callback_max_age: int = 300
    database_url: str = field(default_factory=_default_database_url)
    admins: frozenset[str] = frozenset()
    timezone: str = "Asia/Shanghai"
    files_dir: str = "files"
    api_timeout: float = 5.0
    # Daily quiz size and the times of the daily pushes ("HH:MM", local time).
    quiz_per_day: int = 3
    # Off :00 and :30, the minutes WeCom asks developers to avoid for mass sends.
    tip_time: str = "08:25"
    quiz_time: str = "09:05"
    # Group robot webhook keys that receive risk warnings as markdown.
    robot_keys: tuple[str, ...] = ()
    # CAP 1.2 feed of official alerts (a single <alert> or an Atom feed), polled every 5 minutes;
    # only alerts for these area codes / geocode values (empty: all) at or above the severity.
    cap_url: str = ""
    cap_areas: tuple[str, ...] = ()
    cap_min_severity: str = "Moderate"
    # The console's session signing key. Empty: a random key is generated once and kept in
    # the database, so every process shares it (never a fixed development value).
    secret_key: str = ""
    # Reverse proxies in front of the app whose X-Forwarded-For / -Proto are trusted (0: none).
    trusted_proxies: int = 0
    # Client networks that may reach /admin (/wecom/callback and /healthz stay open).
    console_allow: tuple[str, ...] = DEFAULT_CONSOLE_ALLOW
    # Served over HTTPS: the session cookie is Secure and HSTS is sent on every console page
    # (a request forwarded as https by a trusted proxy gets both anyway).
    https: bool = False
    conversation_timeout_minutes: int = 30
    # How often the scheduler's catch-up job runs (seconds). Tests shorten it to move fast
    # through simulated time; in production the default is right.
    scheduler_tick_seconds: float = 60.0
    # Test-only: read "now" from this file (see bot/testing_clock.py). Never set in production.
    clock_file: str = ""
    # bot.wsgi (gunicorn): log level, migrate on start, drain the outbox in web workers.
    log_level: str = "INFO"
    # Seconds a ranking (排行, the rank in 积分) may be reused before it is recomputed.
    ranking_cache_seconds: int = 60
    migrate_on_start: bool = True
    # The bot's address as phones reach it (https://safety.example.cn): learning cards link to
    # {public_url}/l/<token>, which records "opened" and forwards to the content.
    public_url: str = ""
    web_sender: bool = True
    # Log lines as text (timestamp level logger: message) or one JSON object per line.
    log_format: str = "text"
    # A `safetybot scheduler` runs beside the web processes (compose.yaml): bot.wsgi, which
    # runs no scheduled jobs itself, then does not warn at start-up that nothing is pushed.
    scheduler_elsewhere: bool = False
    # The organisation's name as written summaries (活动总结) and their letterhead show it.
    org_name: str = "本单位"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def missing_wecom_settings(self) -> list[str]:
        values = {
            "WECOM_CORP_ID": self.corp_id,
            "WECOM_AGENT_ID": self.agent_id,
            "WECOM_SECRET": self.secret,
            "WECOM_TOKEN": self.token,
            "WECOM_ENCODING_AES_KEY": self.encoding_aes_key,
        }
        return [name for name in WECOM_REQUIRED if not values[name]]

    def replace(self, **changes: object) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, dotenv: bool = True) -> Settings:
        """Build settings from `environ` (default: os.environ, after loading ./.env)."""
        if environ is None:
            if dotenv:
                from dotenv import load_dotenv

                # A real environment variable wins over the .env file.
                load_dotenv(Path.cwd() / ".env", override=False)
            environ = os.environ
        env = {k: v.strip() for k, v in environ.items()}
        kwargs: dict[str, object] = {}

        def put(key: str, attr: str, conv=str) -> None:
            if env.get(key):
                try:
                    kwargs[attr] = conv(env[key])
                except ValueError as exc:
                    raise ValueError(f"{key}={env[key]!r} is not valid: {exc}") from exc

        put("WECOM_CORP_ID", "corp_id")
        put("WECOM_AGENT_ID", "agent_id", int)
        put("WECOM_SECRET", "secret")
        put("WECOM_TOKEN", "token")
        put("WECOM_ENCODING_AES_KEY", "encoding_aes_key")
        put("WECOM_API_BASE", "api_base", lambda v: v.rstrip("/"))
        put("WECOM_OAUTH_BASE", "oauth_base", lambda v: v.rstrip("/"))
        put("WECOM_CALLBACK_MAX_AGE", "callback_max_age", int)
        put("WECOM_API_TIMEOUT", "api_timeout", float)
        put("DATABASE_URL", "database_url")
        put("SAFETYBOT_ADMINS", "admins", _csv_set)
        put("SAFETYBOT_TIMEZONE", "timezone")
        put("SAFETYBOT_FILES_DIR", "files_dir")
        put("SAFETYBOT_QUIZ_PER_DAY", "quiz_per_day", int)
        put("SAFETYBOT_TIP_TIME", "tip_time", _hhmm)
        put("SAFETYBOT_QUIZ_TIME", "quiz_time", _hhmm)
        put("SAFETYBOT_ROBOT_KEYS", "robot_keys", lambda v: tuple(sorted(_csv_set(v))))
        put("SAFETYBOT_CAP_URL", "cap_url")
        put("SAFETYBOT_PUBLIC_URL", "public_url")
        put("SAFETYBOT_CAP_AREAS", "cap_areas", lambda v: tuple(sorted(_csv_set(v))))
        put("SAFETYBOT_CAP_MIN_SEVERITY", "cap_min_severity", _cap_severity)
        put("SAFETYBOT_SECRET_KEY", "secret_key")
        put("SAFETYBOT_TRUSTED_PROXIES", "trusted_proxies", _non_negative_int)
        put("SAFETYBOT_CONSOLE_ALLOW", "console_allow", _networks)
        put("SAFETYBOT_HTTPS", "https", _flag)
        put("SAFETYBOT_CONVERSATION_TIMEOUT", "conversation_timeout_minutes", int)
        put("SAFETYBOT_SCHEDULER_TICK", "scheduler_tick_seconds", _positive_float)
        put("SAFETYBOT_CLOCK_FILE", "clock_file")
        put("SAFETYBOT_LOG_LEVEL", "log_level", lambda v: v.upper())
        put("SAFETYBOT_RANKING_CACHE", "ranking_cache_seconds", int)
        put("SAFETYBOT_MIGRATE", "migrate_on_start", _flag)
        put("SAFETYBOT_WEB_SENDER", "web_sender", _flag)
        put("SAFETYBOT_LOG_FORMAT", "log_format", _log_format)
        put("SAFETYBOT_SCHEDULER_ELSEWHERE", "scheduler_elsewhere", _flag)
        put("SAFETYBOT_ORG_NAME", "org_name")
        if "encoding_aes_key" in kwargs and len(str(kwargs["encoding_aes_key"])) != 43:
            raise ValueError("WECOM_ENCODING_AES_KEY must be the 43 characters shown in WeCom")
        return cls(**kwargs)  # type: ignore[arg-type]


def _flag(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1 or 0")


def _log_format(value: str) -> str:
    if value.lower() not in ("text", "json"):
        raise ValueError("expected text or json")
    return value.lower()


def _csv_set(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.replace("，", ",").split(",") if part.strip())


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("expected 0 or more")
    return number


def _networks(value: str) -> tuple[str, ...]:
    """A comma-separated list of networks (CIDR) or addresses, checked and normalised."""
    networks = []
    for part in value.replace("，", ",").split(","):
        if part.strip():
            networks.append(str(ipaddress.ip_network(part.strip(), strict=False)))
    return tuple(networks)


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError("expected a number of seconds above 0")
    return number


def _cap_severity(value: str) -> str:
    for name in ("Extreme", "Severe", "Moderate", "Minor", "Unknown"):
        if value.lower() == name.lower():
            return name
    raise ValueError("expected Extreme, Severe, Moderate, Minor or Unknown")


def _hhmm(value: str) -> str:
    hour, _, minute = value.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ValueError("expected HH:MM")
    return f"{int(hour):02d}:{int(minute):02d}"
