#!/usr/bin/env bash
# Installs what furl's tests need: Debian packages with apt-get and npm packages with npm.
# Idempotent and fast when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v /usr/bin/aws >/dev/null 2>&1 || need_apt+=(awscli)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
for p in cmake autoconf automake libtool make g++; do
  command -v "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
command -v libtoolize >/dev/null 2>&1 || need_apt+=(libtool)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "deps: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# npm packages live in .deps/node (git-ignored): the real aws-lambda-ric runtime client.
if [ ! -f .deps/node/node_modules/aws-lambda-ric/package.json ]; then
  echo "deps: npm install aws-lambda-ric@3.3.0 (native build, takes a few minutes once)"
  mkdir -p .deps/node
  ( cd .deps/node && [ -f package.json ] || echo '{"private":true}' > package.json )
  ( cd .deps/node && npm_config_nodedir=/usr npm install --no-audit --no-fund aws-lambda-ric@3.3.0 >/dev/null )
fi
