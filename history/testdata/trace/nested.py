import sys

print("connecting to the database", file=sys.stderr)
print("some progress on stdout")


def parse(row):
    return int(row["count"])


def load(rows):
    return [parse(r) for r in rows]


def main():
    total = sum(load([{"count": "1"}, {"count": "two"}]))
    print(total)


main()
