#ifndef CCRYPTO_SHIM_H
#define CCRYPTO_SHIM_H
// SHA256_Init/Update/Final are deprecated in OpenSSL 3.0 but hash directly: the one-shot SHA256()
// and HMAC() fetch their algorithm from the providers on every call (~10 k instructions each).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/rand.h>

// BIO_get_mem_data is a macro, which Swift cannot call.
static inline long ccrypto_bio_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
#endif
