// The slice of the system OpenSSL 3.0 libcrypto that HealthCloudCrypto uses.
// Only libcrypto (never libssl): SM2, SM3, SM4, HMAC, PBKDF2, PEM/DER, RNG.
#ifndef HEALTHCLOUD_COPENSSL_SHIM_H
#define HEALTHCLOUD_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

/// EVP_PKEY_PUBLIC_KEY (the selection for EVP_PKEY_fromdata) is a macro built from an OR of
/// other macros, which Swift cannot import ("structure not supported").
static inline int hc_evp_pkey_public_key_selection(void) {
    return EVP_PKEY_PUBLIC_KEY;
}

#endif
