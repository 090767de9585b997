#!/usr/bin/env bash
# OpenAPI checks of `make test`: Redocly CLI lint (recommended rules,
# redocly.yaml) of api/openapi.yaml, and an Ajv 8 strict compile of every
# schema of the document as served at /openapi.json. The npm packages are
# pinned in package.json / package-lock.json and installed with `npm ci`
# (scripts/npm-deps.sh) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/npm-deps.sh
mkdir -p .cache
go run ./cmd/cairn openapi > .cache/openapi.json
npx --no-install redocly lint api/openapi.yaml --format=stylish
node scripts/ajv-compile.mjs .cache/openapi.json
