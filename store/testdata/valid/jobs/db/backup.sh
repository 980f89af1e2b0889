#!/bin/bash
set -euo pipefail
pg_dump > /work/out.dump
