// Package migrations owns Cairn's SQL schema: numbered goose migrations
// embedded into the binary, applied by `cairn migrate` and by the test
// template database.
//
// Ownership of the files: 00001 foundation (tenants, keys, the path_parts
// tree), 00002 documents/versions/chunks (ingest), 00003 threads and
// messages, 00004 retrieval, 00005 background answers and the thread
// event log (ask, events), 00006 keeps version bytes (ingest), 00007
// thread activity index (threads), 00008 fair ingest scheduling (ingest),
// 00009 the seed message fields (threads), 00010 term statistics as
// deltas instead of triggers (textsearch/termstats).
// Every table carries tenant_id and every index
// that serves a request leads with it, so the tables can be distributed by
// tenant_id (Citus).
package migrations

import "embed"

// FS holds every *.sql migration, in goose format.
//
//go:embed *.sql
var FS embed.FS
