# Cairn — the two commands: `make run` and `make test`.
# Both set up Postgres + pgvector themselves (scripts/dev-db.sh): a local
# throwaway cluster under .pgdata/, or the database in DATABASE_URL.
SHELL := /bin/bash
GO ?= go
BIN := bin/cairn
KEY_FILE ?= .cairn/api-key
CAIRN_ADDR ?= 127.0.0.1:8080
TEST_FLAGS ?= -race -shuffle=on -timeout 30m

# golangci-lint, pinned, installed into bin/tools by `make lint` itself.
GOLANGCI_LINT_VERSION := v2.15.0
TOOLS := $(CURDIR)/bin/tools
GOLANGCI_LINT := $(TOOLS)/golangci-lint-$(GOLANGCI_LINT_VERSION)

.PHONY: run test build db db-stop migrate bench eval vet lint fmt fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/cairn

db:
	@scripts/dev-db.sh >/dev/null

db-stop:
	@scripts/dev-db.sh stop

run: build
	@set -e; url=$$(scripts/dev-db.sh); export DATABASE_URL="$$url"; \
	$(BIN) migrate up; \
	$(BIN) tenant bootstrap --key-file $(KEY_FILE); \
	echo "cairn: serving on http://$(CAIRN_ADDR) — API key in $(KEY_FILE)"; \
	CAIRN_ADDR=$(CAIRN_ADDR) exec $(BIN) serve

test: lint
	@set -e; url=$$(scripts/dev-db.sh); export DATABASE_URL="$$url"; \
	scripts/openapi-check.sh; \
	scripts/web-deps.sh; \
	CAIRN_REQUIRE_BROWSER=1 $(GO) test $(TEST_FLAGS) ./...

# eval: the offline pipeline on XQuAD (CAIRN_XQUAD_DIR overrides the data
# directory, ../shared/data/xquad from the repository root by default) and
# on the Go distribution's documentation (eval/goroot; CAIRN_GOROOT
# overrides `go env GOROOT`).
eval:
	@set -e; url=$$(scripts/dev-db.sh); export DATABASE_URL="$$url"; \
	export CAIRN_XQUAD_DIR="$${CAIRN_XQUAD_DIR:-$(CURDIR)/../shared/data/xquad}"; \
	CAIRN_EVAL=1 $(GO) test -v -count=1 -run '^(TestXQuAD|TestGoRoot)$$' -timeout 30m ./eval/

# bench: every benchmark of the module (search at 100,000 chunks beside raw
# SQL and filtered recall in bench/, ingest and re-ingest in ingest/bulk,
# ...), then bench/peer (its own module): Cairn beside langchaingo's
# pgvector store on one XQuAD corpus. Data from CAIRN_XQUAD_DIR, as eval.
bench: build
	@set -e; url=$$(scripts/dev-db.sh); export DATABASE_URL="$$url"; \
	export CAIRN_XQUAD_DIR="$${CAIRN_XQUAD_DIR:-$(CURDIR)/../shared/data/xquad}"; \
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...; \
	cd bench/peer && $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m .

vet:
	$(GO) vet ./...

# lint: go vet, then golangci-lint with .golangci.yml (its standard set:
# errcheck, govet, ineffassign, staticcheck, unused; and gofmt). Part of
# `make test`; zero findings.
lint: $(GOLANGCI_LINT)
	$(GO) vet ./...
	cd bench/peer && $(GO) vet ./...
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@mv $(TOOLS)/golangci-lint $@

fmt:
	gofmt -w .

clean:
	rm -rf bin
