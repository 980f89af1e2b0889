set -u
echo "about to fail" >&2
echo "$UNDEFINED_VAR"
