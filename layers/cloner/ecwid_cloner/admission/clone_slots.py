"""AcquireSlot and ReleaseSlot, the state machine's side of admission control,
and the reaper's: a stopped or timed-out execution gives back what it held."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecwid_cloner.admission.control import AdmissionControl
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.models import JobStatus


@dataclass
class CloneSlots:
    admission: AdmissionControl
    jobs: JobsRepository
    clock: Callable[[], float] = field(default=time.time)

    def acquire(self, state: dict[str, Any]) -> dict[str, Any]:
        """The slot record (the state machine keeps it at $.slot): held, or where in line and
        how long to wait; ``waitedSeconds`` since the first refusal, for the slot-wait alarm."""
        clone_id = state["cloneId"]
        previous = state.get("slot") or {}
        number = previous.get("number")
        now = self.clock()
        since = float(previous.get("waitingSince") or now)
        waited = round(now - since, 1)
        first_place = int(previous.get("firstPlace") or 0)
        overdue = bool(first_place) and self.admission.overdue(first_place, waited)
        admission = self.admission.acquire(clone_id, int(number) if number is not None else None, overdue)
        if admission.admitted:
            return {"held": True, "number": admission.number, "waitedSeconds": waited}
        # The job may not exist yet (an execution started without an entry point): then nothing to show.
        self.jobs.advance(clone_id, JobStatus.WAITING, waitingPlace=admission.place, slotNumber=admission.number)
        return {
            "held": False,
            "number": admission.number,
            "place": admission.place,
            "waitingSince": since,
            "firstPlace": first_place or admission.place,
            "waitedSeconds": waited,
            "waitSeconds": max(1, math.ceil(admission.wait)),
        }

    def release(self, state: dict[str, Any]) -> dict[str, Any]:
        return {"released": self.admission.release(state["cloneId"])}

    def reap(self, clone_id: str) -> bool:
        """After an execution ended: free what it still holds, its slot or its place in line.
        Every failed execution comes here, most having released their slot on the way out;
        a job still WAITING never left the line, any other has passed it."""
        job = self.jobs.get(clone_id)
        waiting_number = job.slot_number if job is not None and job.status == JobStatus.WAITING else None
        return self.admission.give_up(clone_id, waiting_number)
