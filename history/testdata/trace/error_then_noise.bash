nosuchcmd
for i in $(seq 1 60); do echo "noise $i" >&2; done
exit 1
