#!/usr/bin/env bash
# Runs every test of neighborbot, the way CI does.
#
# The tests use real parts: a redis-server (started by the tests themselves on free ports, with
# redis-cli for the cluster test) and headless Chromium (the playground's browser test). This
# script installs them with apt-get when they are missing. With CI=true a test never skips for a
# missing tool: it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# deploy/pkg's test checks the package's unit with systemd-analyze verify (dpkg-deb and dpkg
# come with every Debian system).
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
# A Chinese font, so the playground's screenshots show characters rather than boxes.
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null)" ] || ! command -v fc-list >/dev/null 2>&1 ||
  # The ledger's charts need a TrueType CJK font (Noto CJK is CFF, which the renderer cannot read).
  [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  missing+=(fonts-wqy-microhei)
fi
# The ledger's workbook test opens the XLSX in LibreOffice (soffice --headless --convert-to pdf);
# poppler-utils' pdftoppm renders the pages in docs/.
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-calc)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus) # promtool checks deploy/prometheus/alerts.yml
if ((${#missing[@]})); then
  echo "test.sh: installing ${missing[*]}"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test.sh: please install ${missing[*]} (Debian/Ubuntu: apt-get install ${missing[*]})" >&2
  fi
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
# Every module in the build graph has its checksums in go.sum, and the module cache matches them.
go list -m all >/dev/null
go mod verify
# vet, and the one test below, compile with the flags of the production binary (deploy/pkg:
# CGO off, -trimpath): what they compile is then in the build cache when deploy/pkg's test
# builds the amd64 package, instead of the whole dependency graph compiled twice.
CGO_ENABLED=0 go vet -trimpath ./...
# The memory bar for slow clients is about the server as built for production: under -race,
# RSS also holds the detector's state, so that test asserts RSS here, without it.
CGO_ENABLED=0 go test -trimpath -count=1 -run '^TestTricklingClientsDoNotExhaustTheServer$' ./internal/app
go test -race -timeout 14m "$@" ./...
