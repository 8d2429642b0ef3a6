"""The clients of every Ecwid API: one transport, the request budget that gates every call."""
