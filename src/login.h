/* login: POST /agent-access-tokens. */
#ifndef AGENTAUTH_LOGIN_H
#define AGENTAUTH_LOGIN_H

#include "exchange.h"

#define USERNAME_MAX_BYTES 255

/* Answers an agent login (doc/api.md §2): 201 with tokens, 401/4101 for
 * every failure cause, 503 when the database cannot be asked. */
void login_handle(struct exchange *x);

/* 1 if s[0..len) is usable as a credential: non-empty, not only white
 * space, no NUL or other control characters, at most max bytes. */
int login_credential_ok(const char *s, size_t len, size_t max);

#endif
