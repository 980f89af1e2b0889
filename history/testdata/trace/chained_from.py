import sys

print("reading config", file=sys.stderr)


def load(path):
    with open(path) as f:
        return f.read()


def main():
    try:
        load("/nonexistent/cscript.conf")
    except OSError as e:
        raise RuntimeError("config missing") from e


main()
