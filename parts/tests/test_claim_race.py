"""Claiming is race-free: of many people claiming the same part at once, exactly one gets it."""

import threading

import pytest
from django.db import connection

from parts import services
from parts.lifecycle import Action, Status
from parts.models import Part, PartEvent
from parts.tests.factories import make_part
from partsite.errors import Conflict
from partsite.services import user_create

CLAIMERS = 8


def claim_all_at_once(part, users):
    """Every user claims the part on their own thread and database connection, released together."""
    start = threading.Barrier(len(users))
    outcomes = {}

    def claim(user):
        try:
            start.wait()
            services.part_claim(part=part, actor=user)
            outcomes[user.username] = "won"
        except Conflict:
            outcomes[user.username] = "conflict"
        except Exception as error:  # reported below, not swallowed
            outcomes[user.username] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_of_many_simultaneous_claims_exactly_one_wins():
    users = [user_create(username=f"maker{n}", role="fabricator") for n in range(CLAIMERS)]
    part = make_part(status=Status.REVIEWED)

    outcomes = claim_all_at_once(part, users)

    unexpected = {name: outcome for name, outcome in outcomes.items() if outcome not in ("won", "conflict")}
    assert not unexpected
    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1
    assert list(outcomes.values()).count("conflict") == CLAIMERS - 1
    part.refresh_from_db()
    assert (part.status, part.assignee.username) == (Status.IN_PROGRESS, winners[0])
    claims = PartEvent.objects.filter(part=part, action=Action.CLAIM)
    assert [event.actor.username for event in claims] == winners
    assert Part.objects.count() == 1
