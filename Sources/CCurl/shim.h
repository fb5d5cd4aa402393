#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt/getinfo are variadic, which Swift cannot call: typed wrappers.
static inline CURLcode ccurl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_ptr(CURL *h, CURLoption o, const void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_write(CURL *h, CURLoption o,
    size_t (*fn)(char *, size_t, size_t, void *)) { return curl_easy_setopt(h, o, fn); }
// CURLOPT_SSL_CTX_FUNCTION: called with the connection's SSL_CTX before the handshake.
typedef CURLcode (*ccurl_ssl_ctx_fn)(CURL *, void *, void *);
static inline CURLcode ccurl_setopt_ssl_ctx(CURL *h, ccurl_ssl_ctx_fn fn) { return curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, fn); }
static inline CURLcode ccurl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
#endif
