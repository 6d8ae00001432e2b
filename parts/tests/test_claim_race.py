"""Claiming is race-free: of many people claiming the same part at once, exactly one gets it."""

import pytest

from parts import services
from parts.lifecycle import Action, Status
from parts.models import Part, PartEvent
from parts.tests.factories import make_part
from partsite.errors import Conflict
from partsite.services import user_create
from partsite.testing import all_at_once

CLAIMERS = 8


def claim_all_at_once(part, users):
    """{username: "won" | "conflict" | an unexpected error} when every user claims the part at once."""

    def claim(user):
        try:
            services.part_claim(part=part, actor=user)
        except Conflict:
            return "conflict"
        return "won"

    return {user.username: outcome for user, outcome in zip(users, all_at_once(claim, users))}


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
