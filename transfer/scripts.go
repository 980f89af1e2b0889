package transfer

// The remote side of every transfer is one of these POSIX sh scripts, run as
// `sh -c SCRIPT sh ARG...`: paths only ever arrive as positional parameters.
// They must work with dash, bash and busybox ash, GNU and busybox tar.

// reportFunc prints one F record per regular file at or under $1 (symlinks
// are not followed and not reported, except $1 itself when $2 is set). $S=1
// adds sha256. The loop variable is global in POSIX sh, which is fine: it is
// not used after the recursive call.
const reportFunc = `
rep() {
  if [ -L "$1" ] && [ -z "$2" ]; then :
  elif [ -d "$1" ]; then
    for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
      if [ -e "$f" ] || [ -L "$f" ]; then rep "$f"; fi
    done
  elif [ -f "$1" ]; then
    n=$(wc -c < "$1") || n=-
    if [ "$S" = 1 ]; then s=$(sha256sum < "$1") || s=-; s=${s%% *}; else s=-; fi
    printf 'F\t%s\t%s\t%s\0' "$n" "$s" "$1"
  fi
}
`

// probeScript prints one line per tool found, the machine (uname -m), then
// "end".
const probeScript = `for t in tar sha256sum gzip cat wc tee mkdir; do
  if command -v "$t" >/dev/null 2>&1; then printf 'tool %s\n' "$t"; fi
done
if [ -e /dev/fd/1 ]; then echo devfd; fi
printf 'arch %s\n' "$(uname -m 2>/dev/null)"
echo end
`

// uploadTarScript: $1 parent dir, $2 name, $3 gunzip (1/0), $4 sha256 (1/0),
// $5 count stdin with tee (1/0). tar's own output goes to stderr; the report
// to stdout through fd 4. After tar, cat drains stdin so that tee never dies
// of SIGPIPE and the stdin count is exact.
const uploadTarScript = `p=$1 b=$2 Z=$3 S=$4 C=$5
if [ ! -d "$p" ]; then mkdir -p -- "$p" || exit 3; fi
cd -- "$p" || exit 3
` + reportFunc + `
x() {
  if [ "$Z" = 1 ]; then gzip -dc | tar -xof - >&2; else tar -xof - >&2; fi
  r=$?
  cat >/dev/null
  printf 'tar\t%s\0' "$r" >&4
}
printf 'CSCRIPT-REPORT-1\0'
if [ "$C" = 1 ]; then
  { { tee /dev/fd/5 | x; } 5>&1 | wc -c | { read -r n; printf 'stdin\t%s\0' "$n"; }; } 4>&1
else
  { x; printf 'stdin\t-\0'; } 4>&1
fi
rep "./$b"
printf 'end\0'
`

// uploadCatScript: $1 parent dir, $2 name, $3 unused, $4 sha256 (1/0). The
// shell runs a command after cat, so it stays the session's process and keeps
// stdout open until cat has read all of stdin.
const uploadCatScript = `p=$1 b=$2 S=$4
if [ ! -d "$p" ]; then mkdir -p -- "$p" || exit 3; fi
cd -- "$p" || exit 3
` + reportFunc + `
printf 'CSCRIPT-REPORT-1\0'
cat > "./$b"
printf 'tar\t%s\0' "$?"
printf 'stdin\t-\0'
rep "./$b"
printf 'end\0'
`

// waitForClose ends a download script: it stays until the local side,
// holding the report, closes stdin (see Download), so that containerd cannot
// drop the end of the output at the process's exit.
const waitForClose = `while read -r _; do :; done
`

// downloadTarScript: $1 parent dir, $2 name, $3 gzip (1/0), $4 sha256 (1/0).
// The archive, then the report of the source files. A name that is a
// symlink to a file sends the file (tar -h), as the agent does.
const downloadTarScript = `p=$1 b=$2 Z=$3 S=$4
cd -- "$p" 2>/dev/null || { printf 'CSCRIPT-REPORT-1\0missing\0end\0'; exit 0; }
` + reportFunc + `
if [ ! -e "./$b" ] && [ ! -L "./$b" ]; then printf 'CSCRIPT-REPORT-1\0missing\0end\0'; exit 0; fi
h=
if [ -L "./$b" ] && [ -f "./$b" ]; then h=h; fi
if [ "$Z" = 1 ]; then tar -c${h}zf - "./$b"; else tar -c${h}f - "./$b"; fi
r=$?
printf 'CSCRIPT-REPORT-1\0tar\t%s\0' "$r"
rep "./$b" "$h"
printf 'end\0'
` + waitForClose

// downloadCatScript: $1 parent dir, $2 name, $3 unused, $4 sha256 (1/0).
// A line with the size, the bytes, then the report.
const downloadCatScript = `p=$1 b=$2 S=$4
cd -- "$p" 2>/dev/null || { printf 'CSCRIPT-REPORT-1\0missing\0end\0'; exit 0; }
` + reportFunc + `
if [ ! -e "./$b" ]; then printf 'CSCRIPT-REPORT-1\0missing\0end\0'; exit 0; fi
if [ ! -f "./$b" ]; then printf 'CSCRIPT-REPORT-1\0isdir\0end\0'; exit 0; fi
n=$(wc -c < "./$b") || exit 3
printf 'CSCRIPT-CAT-1\t%s\n' "$n"
cat < "./$b"
r=$?
printf 'CSCRIPT-REPORT-1\0tar\t%s\0' "$r"
rep "./$b" 1
printf 'end\0'
` + waitForClose
