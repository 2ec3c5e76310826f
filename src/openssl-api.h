/*
 * openssl-api.h - which OpenSSL interfaces the code uses: those of
 * OpenSSL 3, or those of OpenSSL 1.1.1 (USE_OPENSSL_1_1_API). The 1.1.1
 * ones are chosen on OpenSSL 1.1.1, and on OpenSSL 3 in a test build
 * (configure --enable-openssl-1.1-api), where they are still there,
 * deprecated: so that code is built and tested here too.
 */
#ifndef MTASTS_OPENSSL_API_H
#define MTASTS_OPENSSL_API_H

#include <openssl/opensslv.h>

#if OPENSSL_VERSION_NUMBER < 0x30000000L && !defined(USE_OPENSSL_1_1_API)
#define USE_OPENSSL_1_1_API 1
#endif

#endif
