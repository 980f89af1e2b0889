echo "starting" >&2
nosuchcmd --flag
set -e
cd /nonexistent/dir
echo unreachable
