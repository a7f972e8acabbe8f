# heatstrap — one static binary that bootstraps Magnum Kubernetes nodes.
#   make build   static binary in bin/heatstrap (version stamped)
#   make test    test prerequisites (apt, as root), lint, every test (race
#                detector on), then the VM boot suite
#   make test-vm the cloud-init VM boot suite alone (qemu; image cached)
#   make demo    bootstrap a master into a temp root, print status
#   make lint    gofmt, go vet, staticcheck
#   make fuzz    short fuzzing of the heat-params and curl_cli parsers
#   make bench   benchmarks

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
BIN         := bin/heatstrap
TOOLS       := $(CURDIR)/bin/tools
STATICCHECK := $(TOOLS)/staticcheck
FUZZTIME    ?= 20s
export GOFLAGS := -buildvcs=false

.PHONY: build test deps unit test-vm lint demo fuzz bench clean

build: $(BIN)

$(BIN): FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/heatstrap

FORCE:

test: deps
	$(MAKE) lint unit test-vm

# The Debian packages the suites use (.ci/deps: installs when root).
deps:
	@./.ci/deps

unit: export HEATSTRAP_TEST_LOOPBACK_ONLY=1
unit:
	$(GO) test -race -count=1 ./...

# The VM suite boots qemu (TCG, minutes): behind the vm build tag so that
# `go test ./...` stays quick, and run by `make test`.
test-vm:
	$(GO) test -tags vm -count=1 -timeout 20m ./test/vm/

lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags vm ./...
	$(STATICCHECK) -tags vm ./...

$(STATICCHECK):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

demo: build
	./$(BIN) demo

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReadHeatParams -fuzztime $(FUZZTIME) ./config/
	$(GO) test -run '^$$' -fuzz FuzzParseCurlCLI -fuzztime $(FUZZTIME) ./heat/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
