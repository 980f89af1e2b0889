for i in $(seq 1 80); do echo "log line $i" >&2; done
exit 3
