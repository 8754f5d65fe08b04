/* encode: base64url, hex, SHA-256 and random bytes. */
#ifndef AGENTAUTH_ENCODE_H
#define AGENTAUTH_ENCODE_H

#include <stddef.h>

/* Size of the base64url text (no padding) for n bytes, without the NUL. */
#define B64URL_LEN(n) (((n) * 4 + 2) / 3)

/* Writes the unpadded base64url form of in[0..n) and a NUL to out, which must
 * hold B64URL_LEN(n) + 1 bytes.  Returns the text length. */
size_t b64url_encode(char *out, const unsigned char *in, size_t n);

/* Decodes unpadded base64url in[0..n) into out (capacity cap).  Refuses
 * padding, characters outside the URL-safe alphabet, a length of 4k+1 and
 * non-zero unused bits (so every byte string has one encoding).
 * Returns the decoded length, or -1. */
long b64url_decode(unsigned char *out, size_t cap, const char *in, size_t n);

/* Hex, the one place: hex_encode writes 2n lower-case hex digits and a
 * NUL to out (2n + 1 bytes); hex_byte writes the two digits of c (no NUL),
 * in upper case when upper (percent-encoding); hex_value is the value of
 * the digit c (either case), or -1. */
void hex_encode(char *out, const unsigned char *in, size_t n);
void hex_byte(char out[2], unsigned char c, int upper);
int hex_value(int c);

/* SHA-256 of in[0..n) into out[32].  Returns 0 or -1. */
int sha256(unsigned char out[32], const void *in, size_t n);

/* Fills buf with n bytes from getrandom(2).  Returns 0 or -1. */
int random_bytes(void *buf, size_t n);

#endif
