"""The daily quotas of model-backed deep-dive work (``deep_dive_usage``, per user, UTC day and kind).

Only the request that has the model write something pays: a shared explanation or deep dive already
stored, or one another request is writing, costs nothing; a count is given back when its work fails. The
counting rule is the reports' (:func:`oss_tldr.reports.quota.consume_daily`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from oss_tldr.db.tables import deep_dive_usage
from oss_tldr.errors import RateLimited
from oss_tldr.reports.quota import consume_daily, refund_daily, seconds_to_utc_midnight
from oss_tldr.settings import get_settings

Kind = Literal["diff", "deepdive"]
_WHAT = {"diff": "patch explanations", "deepdive": "deep dives"}


def _limit(kind: Kind) -> int:
    settings = get_settings()
    return settings.diff_daily_quota if kind == "diff" else settings.deepdive_daily_quota


@dataclass
class DailyQuota:
    user_id: int | None  # None: the service (CLI, bench) is not quota-bound
    kind: Kind

    def __post_init__(self) -> None:
        self.day = dt.datetime.now(dt.UTC).date()

    def take(self) -> None:
        if self.user_id is None:
            return
        if not consume_daily(
            deep_dive_usage, _limit(self.kind), user_id=self.user_id, day=self.day, kind=self.kind
        ):
            raise RateLimited(
                f"Daily rate limit for new {_WHAT[self.kind]} reached; stored ones are still served.",
                retry_after=seconds_to_utc_midnight(),
                code=f"{self.kind}_quota_exceeded",
            )

    def give_back(self) -> None:
        if self.user_id is not None:
            refund_daily(deep_dive_usage, user_id=self.user_id, day=self.day, kind=self.kind)
