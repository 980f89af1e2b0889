import logging

try:
    1 / 0
except Exception:
    logging.exception("handled and logged")
e = ValueError("line one\nline two")
e.add_note("a note")
raise e
