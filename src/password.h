/* password: verification of stored password hashes with libxcrypt crypt_rn.
 *
 * Accepted: bcrypt ($2a$ $2b$ $2y$), yescrypt ($y$), sha512crypt ($6$).
 * Everything else (DES, MD5 $1$, empty, "*", "!") is refused as too weak.
 * Not thread-safe: one crypt_data per process. */
#ifndef AGENTAUTH_PASSWORD_H
#define AGENTAUTH_PASSWORD_H

#include <stddef.h>

/* Longest password we hash at all; longer ones never match. */
#define PASSWORD_MAX_BYTES 256
/* bcrypt reads only this many bytes: longer passwords never match it. */
#define BCRYPT_MAX_BYTES 72

enum pw_result {
	PW_MATCH = 1,
	PW_MISMATCH = 0,
	PW_ERROR = -1,     /* the stored hash is malformed or crypt failed */
	PW_WEAK = -2,      /* the stored hash uses a refused scheme */
};

/* Verifies password[0..len) (NUL-terminated at len) against hash.  For an
 * accepted scheme the hash is computed for every password of at most
 * PASSWORD_MAX_BYTES without NUL, so right and wrong passwords cost the
 * same; longer ones and ones with NUL are refused without hashing (for
 * known and unknown users alike).  Scratch memory is wiped. */
enum pw_result password_verify(const char *password, size_t len, const char *hash);

/* Makes a bcrypt hash of a random password at the given cost, to check
 * unknown usernames against.  Returns a malloc'd string or NULL. */
char *password_dummy_hash(int cost);

/* A new bcrypt ($2b$) hash of password[0..len) at the given cost.  Returns
 * a malloc'd string (the caller frees it) or NULL. */
char *password_hash_new(const char *password, size_t len, int cost);

/* 1 if hash should be replaced by a bcrypt hash of the given cost: another
 * scheme, bcrypt's bug-compatible $2a$, or a lower cost; else 0. */
int password_needs_rehash(const char *hash, int cost);

/* A short name of the hash's scheme for logs ("bcrypt", "md5crypt", ...). */
const char *password_scheme(const char *hash);

/* Releases the per-process crypt scratch area, wiped.  Runs at exit by
 * itself (atexit, once the area is made); callable earlier (tests). */
void password_cleanup(void);

#endif
