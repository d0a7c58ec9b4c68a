#!/usr/bin/env bash
# Installs what furl's tests need: Debian packages with apt-get and npm packages with npm.
# Idempotent and fast when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v /usr/bin/aws >/dev/null 2>&1 || need_apt+=(awscli)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
for p in cmake autoconf automake make g++; do
  command -v "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
command -v libtoolize >/dev/null 2>&1 || need_apt+=(libtool)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "deps: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# npm packages live in .deps/node (git-ignored): the real aws-lambda-ric runtime client, whose
# install scripts build a native addon. npm 11 runs install scripts only for approved packages.
ric=.deps/node/node_modules/aws-lambda-ric
if ! ls "$ric"/build/Release/*.node >/dev/null 2>&1 && ! ls "$ric"/dist/*.node >/dev/null 2>&1; then
  echo "deps: npm install aws-lambda-ric@3.3.0 (native build, takes a few minutes once)"
  mkdir -p .deps/node
  printf '%s\n' '{"private":true,"dependencies":{"aws-lambda-ric":"3.3.0"},"allowScripts":{"aws-lambda-ric":true}}' > .deps/node/package.json
  ( cd .deps/node && npm_config_nodedir=/usr npm install --no-audit --no-fund >/dev/null )
  # Older npm versions ignore allowScripts and skip the build: run it then.
  ls "$ric"/dist/*.node >/dev/null 2>&1 || ls "$ric"/build/Release/*.node >/dev/null 2>&1 ||
    ( cd .deps/node && npm_config_nodedir=/usr npm rebuild aws-lambda-ric >/dev/null )
fi
