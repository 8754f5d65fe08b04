/* Helpers shared by the unit test suites. */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "suites.h"

/* Writes pk as PEM (private or public) into a malloc'd string. */
char *
test_pem_of(EVP_PKEY *pk, int private, size_t *len_r)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *copy;
	long len;

	ck_assert_ptr_nonnull(bio);
	if (private)
		ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	else
		ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pk), 1);
	len = BIO_get_mem_data(bio, &data);
	ck_assert_int_gt(len, 0);
	copy = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, data, (size_t)len);
	copy[len] = '\0';
	BIO_free(bio);
	*len_r = (size_t)len;
	return copy;
}
