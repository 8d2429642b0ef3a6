"""Admission control: a cap on clones in flight, and the slots the state machine takes and gives back."""
