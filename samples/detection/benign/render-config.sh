#!/bin/sh
# Benign: renders a configuration file from a template and environment values.
set -eu
cat > app.conf.tpl <<'TPL'
server {
  listen ${PORT};
  server_name ${HOST};
  root ${ROOT};
}
TPL
mkdir -p out
export PORT=8080 HOST=app.example.test ROOT="$PWD/public"
if command -v envsubst >/dev/null; then envsubst < app.conf.tpl > out/app.conf
else sed -e "s|\${PORT}|$PORT|" -e "s|\${HOST}|$HOST|" -e "s|\${ROOT}|$ROOT|" app.conf.tpl > out/app.conf; fi
grep -c listen out/app.conf
