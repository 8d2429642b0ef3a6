"""The local stack: the project's real state machine and handlers on moto,
against the Ecwid sandbox. Nothing in functions/ or layers/ imports it."""
