"""AcquireSlot and ReleaseSlot, the state machine's side of admission control,
and the reaper's: a stopped or timed-out execution gives back what it held."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ecwid_cloner.admission.control import AdmissionControl
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.models import JobStatus
from ecwid_cloner.state import SlotTicket


@dataclass
class CloneSlots:
    admission: AdmissionControl
    jobs: JobsRepository
    clock: Callable[[], float] = field(default=time.time)

    def acquire(self, clone_id: str, previous: SlotTicket | None = None) -> SlotTicket:
        """The clone's slot ticket (the state machine keeps it at $.slot): held, or where in line
        and how long to wait; ``previous``: the ticket its last try was given (None: its first)."""
        now = self.clock()
        since = previous.waiting_since if previous is not None and previous.waiting_since is not None else now
        waited = round(now - since, 1)
        first_place = previous.first_place if previous is not None else 0
        overdue = bool(first_place) and self.admission.overdue(first_place, waited)
        number = previous.number if previous is not None else None
        admission = self.admission.acquire(clone_id, number, overdue)
        if admission.admitted:
            return SlotTicket(held=True, number=admission.number, waited_seconds=waited)
        # The job may not exist yet (an execution started without an entry point): then nothing to show.
        self.jobs.advance(clone_id, JobStatus.WAITING, waitingPlace=admission.place, slotNumber=admission.number)
        return SlotTicket(
            held=False,
            number=admission.number,
            waited_seconds=waited,
            place=admission.place,
            waiting_since=since,
            first_place=first_place or admission.place,
            wait_seconds=max(1, math.ceil(admission.wait)),
        )

    def release(self, clone_id: str) -> bool:
        """Give the clone's slot back; False when it held none (released already)."""
        return self.admission.release(clone_id)

    def reap(self, clone_id: str) -> bool:
        """After an execution ended: free what it still holds, its slot or its place in line.
        Every failed execution comes here, most having released their slot on the way out;
        a job still WAITING never left the line, any other has passed it."""
        job = self.jobs.get(clone_id)
        waiting_number = job.slot_number if job is not None and job.status == JobStatus.WAITING else None
        return self.admission.give_up(clone_id, waiting_number)
