#!/usr/bin/env bash
# make demo: the examples against the local test cluster (test/cluster up has run).
# Everything cscript writes goes to .demo/ (its own config, library and run history).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(test/cluster/cluster env)"
kubectl=${CSCRIPT_TEST_KUBECTL:-kubectl}
cs=$PWD/bin/cscript
demo=$PWD/.demo
rm -rf "$demo" && mkdir -p "$demo"
export XDG_CONFIG_HOME=$demo/config XDG_DATA_HOME=$demo/data XDG_STATE_HOME=$demo/state XDG_CACHE_HOME=$demo/cache
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "a library with the examples"
"$cs" init
lib=$XDG_DATA_HOME/cscript/library
for deck in demo-a demo-b; do
	printf 'description: The demo database in namespace %s.\nnamespace: %s\n' "$deck" "$deck" > "$lib/decks/$deck.yaml"
done
"$cs" validate
"$cs" list

step "hello"
"$cs" run hello --deck local --set who="$(whoami)"

step "two PostgreSQL servers, namespaces demo-a and demo-b"
# A previous demo's namespaces may still be terminating: wait until they are gone.
"$kubectl" delete namespace demo-a demo-b --ignore-not-found --wait=true >/dev/null
for ns in demo-a demo-b; do
	"$kubectl" create namespace "$ns" >/dev/null
	"$kubectl" -n "$ns" create secret generic postgres --from-literal=password="demo-$RANDOM-$RANDOM" --dry-run=client -o yaml | "$kubectl" apply -f - >/dev/null
	"$kubectl" -n "$ns" apply -f test/fixtures/postgres.yaml >/dev/null
done
for ns in demo-a demo-b; do "$kubectl" -n "$ns" wait --for=condition=Ready pod/postgres --timeout=120s; done
ip_a=$("$kubectl" -n demo-a get pod postgres -o jsonpath='{.status.podIP}')
ip_b=$("$kubectl" -n demo-b get pod postgres -o jsonpath='{.status.podIP}')
psql_in() { "$kubectl" -n "$1" exec postgres -- psql -h 127.0.0.1 -U postgres -qAt "${@:2}"; }
for ns in demo-a demo-b; do
	pw=$("$kubectl" -n "$ns" get secret postgres -o jsonpath='{.data.password}' | base64 -d)
	"$kubectl" -n "$ns" exec postgres -- env PGPASSWORD="$pw" psql -h 127.0.0.1 -U postgres -qc 'create database app' 
done
pw_a=$("$kubectl" -n demo-a get secret postgres -o jsonpath='{.data.password}' | base64 -d)
"$kubectl" -n demo-a exec postgres -- env PGPASSWORD="$pw_a" psql -h 127.0.0.1 -U postgres -d app -qc \
	"create table customers(id int primary key, name text); insert into customers select i, 'customer ' || i from generate_series(1, 1000) i"

step "db-dump from demo-a to a local file"
"$cs" run db-dump --deck demo-a --set db.host="$ip_a" --set out="$demo/dump.sql.gz"
ls -l "$demo/dump.sql.gz"

step "db-restore into demo-b"
"$cs" run db-restore --deck demo-b --set db.host="$ip_b" --set dump="$demo/dump.sql.gz"

step "compare"
rows() {
	local pw
	pw=$("$kubectl" -n "$1" get secret postgres -o jsonpath='{.data.password}' | base64 -d)
	"$kubectl" -n "$1" exec postgres -- env PGPASSWORD="$pw" psql -h 127.0.0.1 -U postgres -d app -qAt \
		-c "select count(*) || ' rows, md5 ' || md5(string_agg(id || ':' || name, ',' order by id)) from customers"
}
a=$(rows demo-a) b=$(rows demo-b)
echo "demo-a: $a"
echo "demo-b: $b"
[ "$a" = "$b" ] || { echo "the restored rows differ" >&2; exit 1; }

step "a failing python script and its trace"
set +e
"$cs" run py-fail --deck local
echo "exit code: $?"
set -e
"$cs" trace last

step "history"
"$cs" runs
for ns in demo-a demo-b; do "$kubectl" delete namespace "$ns" --wait=false >/dev/null; done
echo
echo "Done. The demo's config, library and run history are in $demo."
