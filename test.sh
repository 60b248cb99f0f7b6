#!/usr/bin/env bash
# The project's whole check, the README's test command: gofmt, go vet,
# staticcheck and go test -race for every module of the repo, the library's
# coverage floor, and the builds for the browser, WASI, Windows and macOS
# (the disk spool and the signal handling differ by platform).
set -euo pipefail
cd "$(dirname "$0")"

STATICCHECK="honnef.co/go/tools/cmd/staticcheck@v0.8.2"
MIN_COVERAGE=85

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

modules=$(find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)
for m in $modules; do
  step "go vet + staticcheck ($m)"
  (cd "$m" && go vet ./... && go run "$STATICCHECK" ./...)
done

step "go test -race (library, with coverage)"
mkdir -p .cover
go test -race -count=1 -covermode=atomic -coverprofile=.cover/lib.out .
total=$(go tool cover -func=.cover/lib.out | awk '/^total:/ {sub("%","",$3); print $3}')
echo "library coverage: ${total}% (floor ${MIN_COVERAGE}%)"
awk -v t="$total" -v m="$MIN_COVERAGE" 'BEGIN { exit !(t+0 >= m+0) }' || {
  echo "coverage ${total}% is under ${MIN_COVERAGE}%"; exit 1; }

step "go test -race (rest of the root module)"
others=$(go list ./... | grep -v '^github.com/soliplex/slogotlp$' || true)
if [ -n "$others" ]; then go test -race -count=1 $others; fi

for m in $modules; do
  [ "$m" = "." ] && continue
  step "go test -race ($m)"
  (cd "$m" && go test -race -count=1 ./...)
done

step "builds for the browser and WASI"
GOOS=js GOARCH=wasm go build ./...
GOOS=wasip1 GOARCH=wasm go build .
(cd examples/wasm && GOOS=js GOARCH=wasm go vet .)

step "vet for Windows and macOS (library and its tests)"
GOOS=windows GOARCH=amd64 go vet . ./relay ./cmd/relay
GOOS=darwin GOARCH=arm64 go vet . ./relay ./cmd/relay

echo
echo "all checks passed"
