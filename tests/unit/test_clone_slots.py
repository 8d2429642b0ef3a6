"""AcquireSlot and ReleaseSlot (CloneSlots) in milliseconds: the slot record the state machine
keeps at $.slot, over an in-memory slot store and in-memory jobs, on a clock the test moves.
(The reaper's side runs on both slot stores in test_admission.py.)"""

from __future__ import annotations

import json

import pytest

from ecwid_cloner.admission.clone_slots import CloneSlots
from ecwid_cloner.admission.control import AdmissionControl, AdmissionPolicy
from ecwid_cloner.models import CloneRequest
from ecwid_cloner.state import SlotTicket
from tests.memory_stores import MemoryJobs, MemorySlotStore

RELEASE_INTERVAL = 10.0


@pytest.fixture
def slots(clock):
    jobs = MemoryJobs(clock)
    for clone_id in ("running", "ahead", "me"):
        jobs.record_intent(clone_id, CloneRequest(1003, 9001))
    control = AdmissionControl(
        MemorySlotStore(), AdmissionPolicy(max_in_flight=1, release_interval=RELEASE_INTERVAL), clock=clock
    )
    return CloneSlots(control, jobs, clock)


def _ask(slots, clone_id, slot=None):
    """AcquireSlot as the state machine runs it: the ticket of the last try read from $.slot, the
    new one written there (the JSON, which the assertions read)."""
    ticket = slots.acquire(clone_id, SlotTicket.from_state(slot) if slot else None)
    assert SlotTicket.from_state(json.loads(json.dumps(ticket.to_state()))) == ticket, "reads back as it was"
    return ticket.to_state()


def test_a_free_slot_is_held_at_once_and_the_job_is_not_waiting(slots):
    assert _ask(slots, "running") == {"held": True, "number": 1, "waitedSeconds": 0.0}
    assert slots.jobs.get("running").status == "STARTING"


def test_a_refused_clone_learns_its_place_and_the_job_shows_it_waiting(slots, clock):
    _ask(slots, "running")
    _ask(slots, "ahead")
    refused = _ask(slots, "me")
    assert refused == {
        "held": False,
        "number": 3,
        "place": 2,
        "waitingSince": clock.now,
        "firstPlace": 2,
        "waitedSeconds": 0.0,
        "waitSeconds": 2 * RELEASE_INTERVAL,
    }
    job = slots.jobs.get("me")
    assert job.status == "WAITING" and int(job["waitingPlace"]) == 2 and job.slot_number == 3


def test_a_waiter_keeps_its_number_first_place_and_start_of_waiting_until_it_is_admitted(slots, clock):
    _ask(slots, "running")
    ahead = _ask(slots, "ahead")
    me = _ask(slots, "me")
    clock.advance(25)
    assert slots.release("running") is True
    assert _ask(slots, "ahead", ahead)["held"]
    me = _ask(slots, "me", me)
    assert (me["held"], me["number"], me["place"]) == (False, 3, 1)
    assert me["firstPlace"] == 2 and me["waitedSeconds"] == 25.0 and me["waitingSince"] == clock.now - 25
    clock.advance(5)
    slots.release("ahead")
    admitted = _ask(slots, "me", me)
    assert admitted == {"held": True, "number": 3, "waitedSeconds": 30.0}


def test_a_waiter_overdue_behind_a_number_that_never_passes_takes_a_free_slot(slots, clock):
    _ask(slots, "running")
    _ask(slots, "ahead")  # number 2: its execution dies here and never asks again
    me = _ask(slots, "me")
    slots.release("running")
    overdue_after = 2 * me["firstPlace"] * RELEASE_INTERVAL + 60
    clock.advance(overdue_after)
    assert not _ask(slots, "me", me)["held"], "not yet overdue: the line's order holds"
    clock.advance(1)
    assert _ask(slots, "me", me)["held"]


def test_a_slot_is_released_once(slots):
    _ask(slots, "running")
    assert slots.release("running") is True
    assert slots.release("running") is False
    assert _ask(slots, "ahead")["held"]
