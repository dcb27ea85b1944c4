"""What a verified delivery does: stored once, then (for activity events) its repository's reports go stale.

One transaction per delivery:

1. ``INSERT INTO webhook_deliveries … ON CONFLICT (delivery_id) DO NOTHING``: a delivery GitHub sends again
   (its redelivery keeps the ``X-GitHub-Delivery`` id) inserts nothing and does nothing else;
2. for :data:`REPORT_EVENTS` on a repository this service knows — by its GitHub id (``repository.id``)
   first, else by ``repository.full_name`` through its aliases (:func:`oss_tldr.repos.names.
   repository_id_for`), never a row whose different GitHub id says the name is another repository's now —
   every live shared report of it gets ``expires_at = now()``: the next request for it is a miss and
   regenerates it (users' own imported copies are theirs and stay untouched). Once stale-while-revalidate
   (issue 10, item 4) is built, such a report is served at once marked ``"stale": true`` while one refresh
   runs; until then the next request waits for the regeneration. The cleanup keeps an expired report one
   refresh period before deleting it, so a stale report is still there for that; and its stored deep-dive
   patch sets and deep dives stop being fresh (:func:`oss_tldr.deepdive.store.expire_repository`): the
   next request asks GitHub whether the pull request's head or the thread moved;
3. ``processed_at = now()``.

``ping`` and any other event are stored and processed without further effect.

The statements are Core, on :mod:`oss_tldr.db.tables` and a ``connection_scope`` connection: storing a
delivery, an activity event's included, loads neither SQLAlchemy's ORM nor the declarative models (cold
start, docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from oss_tldr.db.engine import connection_scope
from oss_tldr.db.tables import reports, repositories, webhook_deliveries
from oss_tldr.deepdive import store as deepdive_store
from oss_tldr.repos.names import repository_id_for

if TYPE_CHECKING:
    from oss_tldr.db.engine import Executor

# The events whose activity a report shows (issues, pull requests and their comments and reviews).
REPORT_EVENTS = frozenset({"issues", "issue_comment", "pull_request", "pull_request_review"})
PING = "ping"


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    event: str
    payload: dict[str, Any]

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action[:64] if isinstance(action, str) else None

    @property
    def repository(self) -> tuple[int | None, str | None]:
        """(GitHub id, full name) of the payload's ``repository``, each None when absent or malformed."""
        repo = self.payload.get("repository")
        if not isinstance(repo, dict):
            return None, None
        github_id = repo.get("id")
        name = repo.get("full_name")
        valid_id = github_id if isinstance(github_id, int) and not isinstance(github_id, bool) else None
        if valid_id is not None and not 0 < valid_id < 2**63:
            valid_id = None
        valid_name = name.lower() if isinstance(name, str) and 0 < len(name) <= 255 and "/" in name else None
        return valid_id, valid_name


@dataclass(frozen=True)
class DeliveryResult:
    delivery_id: str
    event: str
    duplicate: bool  # stored before: nothing was done this time
    handled: bool  # an event this service acts on (ping or an activity event)
    stale_reports: int  # live shared reports marked stale by this delivery

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivery": self.delivery_id,
            "event": self.event,
            "duplicate": self.duplicate,
            "stale_reports": self.stale_reports,
        }


def _known_repository(executor: Executor, github_id: int | None, full_name: str | None) -> int | None:
    r = repositories.c
    if github_id is not None:
        found = executor.execute(select(r.id).where(r.github_id == github_id)).scalar()
        if found is not None:
            return int(found)
    if full_name is None:
        return None
    by_name = executor.execute(select(r.id, r.github_id).where(r.id == repository_id_for(full_name))).first()
    if by_name is None:
        return None
    if github_id is not None and by_name.github_id is not None and by_name.github_id != github_id:
        return None  # the name (or an alias) leads to another repository than the one GitHub meant
    return int(by_name.id)


def _mark_stale(executor: Executor, repository_id: int) -> int:
    """Step 2 of the module docstring: the number of live shared reports marked stale."""
    deepdive_store.expire_repository(executor, repository_id)
    rp = reports.c
    return len(
        executor.execute(
            update(reports)
            .where(
                rp.repository_id == repository_id,
                rp.owner_user_id.is_(None),
                or_(rp.expires_at.is_(None), rp.expires_at > func.now()),
            )
            .values(expires_at=func.now())
            .returning(rp.id)
        ).all()
    )


def handle_delivery(delivery: Delivery) -> DeliveryResult:
    """Store ``delivery`` once and apply its effect, in one transaction (see the module docstring)."""
    github_id, full_name = delivery.repository
    w = webhook_deliveries.c
    with connection_scope() as conn:
        stored = conn.execute(
            insert(webhook_deliveries)
            .values(
                delivery_id=delivery.delivery_id,
                event=delivery.event,
                action=delivery.action,
                repository_github_id=github_id,
                repository_full_name=full_name,
            )
            .on_conflict_do_nothing(index_elements=[w.delivery_id])
            .returning(w.delivery_id)
        ).first()
        handled = delivery.event in REPORT_EVENTS or delivery.event == PING
        if stored is None:
            return DeliveryResult(delivery.delivery_id, delivery.event, True, handled, 0)
        stale = 0
        if delivery.event in REPORT_EVENTS:
            repository_id = _known_repository(conn, github_id, full_name)
            if repository_id is not None:
                stale = _mark_stale(conn, repository_id)
        conn.execute(
            update(webhook_deliveries)
            .where(w.delivery_id == delivery.delivery_id)
            .values(processed_at=func.now())
        )
    return DeliveryResult(delivery.delivery_id, delivery.event, False, handled, stale)
