#!/usr/bin/env bash
# Builds a minimal libcurl for the Lambda package from Debian's own source of the installed
# libcurl4 (same version, Debian's security patches applied): HTTP(S)/1.1 only, OpenSSL + zlib,
# without the LDAP/RTMP/SSH/Kerberos/IDN/PSL/brotli/zstd stack (about 20 libraries, ~4.5 MB zipped).
# Both flavours: libcurl.a, which scripts/package-lambda.sh links into the binary, and libcurl.so.4
# with the same soname and symbol versions (CURL_OPENSSL_4) as Debian's, so that a binary linked
# against Debian's libcurl loads it unchanged. Default CA bundle: Amazon Linux's
# /etc/pki/tls/certs/ca-bundle.crt.
# Prints the path of libcurl.so.4, or with --static of libcurl.a; cached per version in $CURL_MIN_CACHE.
set -euo pipefail

ver=$(dpkg-query -W -f='${Version}' libcurl4)
cache=${CURL_MIN_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ivs-chat-events/curl-min-$ver}
lib=$cache/lib/libcurl.so.4
[[ ${1:-} == --static ]] && wanted=$cache/lib/libcurl.a || wanted=$lib
# One build at a time per version (packagings side by side): the second waits, then finds it made.
mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
flock 9
[[ -f $lib && -f $cache/lib/libcurl.a ]] && { echo "$wanted"; exit 0; }

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# Debian's source, through a private apt config made from the machine's own apt sources with
# deb-src in place of deb (the machine's apt setup is left alone).
mkdir -p "$work/lists/partial" "$work/parts"
for f in /etc/apt/sources.list.d/*.sources; do
  [[ -f $f ]] && sed -E 's/^Types:[[:space:]]*deb$/Types: deb-src/' "$f" > "$work/parts/$(basename "$f")"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [[ -f $f ]] && sed -nE 's/^deb[[:space:]]/deb-src /p' "$f" >> "$work/parts/machine.list"
done
: > "$work/src.list"
apt_opts=(-o Dir::Etc::SourceList="$work/src.list" -o Dir::Etc::SourceParts="$work/parts" -o Dir::State::Lists="$work/lists")
apt-get -qq "${apt_opts[@]}" update >&2
(cd "$work" && apt-get -qq "${apt_opts[@]}" source --download-only "curl=$ver" >&2)
dpkg-source -x "$work"/curl_*.dsc "$work/src" >&2
cd "$work/src"
# Like debian/rules for the OpenSSL flavour: drop the GnuTLS/NSS flavour patches (symbol version
# CURL_OPENSSL_4, not _3). They only touch *.am/*.in, so the shipped configure stays valid.
patch -s -R -p1 < debian/patches/99_nss.patch
patch -s -R -p1 < debian/patches/90_gnutls.patch

# Small build; the lock (SWIFT_BUILD_LOCK, empty = none) keeps it from running beside a Swift build.
lock=(); [[ -n "${SWIFT_BUILD_LOCK-/tmp/swift-build.lock}" ]] && lock=(flock "${SWIFT_BUILD_LOCK-/tmp/swift-build.lock}")
"${lock[@]}" bash -c '
  ./configure --quiet --prefix="$1" --enable-static --enable-shared --enable-versioned-symbols \
    --with-openssl --without-nghttp2 --with-zlib --with-ca-bundle=/etc/pki/tls/certs/ca-bundle.crt --without-ca-path \
    --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp \
    --disable-pop3 --disable-imap --disable-smb --disable-smtp --disable-gopher --disable-mqtt \
    --disable-ftp --disable-file --disable-manual \
    --without-libpsl --without-libidn2 --without-librtmp --without-libssh2 --without-libssh \
    --without-brotli --without-zstd --without-gssapi --without-libgsasl >&2
  make -s -j2 -C lib >&2 && make -s -C lib install >&2' _ "$cache"
[[ -f $lib && -f $cache/lib/libcurl.a ]] || { echo "build-min-curl: no $lib or libcurl.a after the build" >&2; exit 1; }
echo "$wanted"
