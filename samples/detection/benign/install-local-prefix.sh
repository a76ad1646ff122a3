#!/bin/sh
# Benign: installs a small tool into a per-user prefix (./configure --prefix=$HOME/.local, make
# install) and runs the installed copy.
set -eu
prefix="$HOME/.local"
src=./hello-1.2
mkdir -p "$src"
cat > "$src/configure" <<'CONF'
#!/bin/sh
prefix=/usr/local
for arg; do case $arg in --prefix=*) prefix=${arg#--prefix=} ;; esac; done
printf 'PREFIX=%s\n' "$prefix" > config.mk
echo "configured for $prefix"
CONF
cat > "$src/hello" <<'TOOL'
#!/bin/sh
echo "hello 1.2"
TOOL
chmod +x "$src/configure" "$src/hello"
(cd "$src" && ./configure --prefix="$prefix")
mkdir -p "$prefix/bin" "$prefix/share/doc/hello"
install -m 755 "$src/hello" "$prefix/bin/hello"
echo "hello 1.2, a greeting tool" > "$prefix/share/doc/hello/README"
"$prefix/bin/hello"
PATH="$prefix/bin:$PATH" hello
rm -rf "$src"
