import sys

print("importing", file=sys.stderr)
import pkg.broken  # noqa: E402
