/*
 * fuzz_sshsig - libFuzzer target for the SSH signature code (sshsig.c),
 * whose input comes from anyone who can push (signatures) or from the
 * server's allowed-signers file. The first byte chooses:
 *   even: the rest is an allowed-signers file, parsed;
 *   odd:  the rest is an armored signature, checked over a fixed text
 *         against a fixed allowed-signers line (an ed25519 key).
 * Built and run by tests/fuzz/run.sh (make fuzz), and by make check
 * through tests/fuzz/driver.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "errors.h"
#include "sshsig.h"
#include "strvec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char signers_text[] =
	"ed25519@example.com ssh-ed25519 "
	"AAAAC3NzaC1lZDI1NTE5AAAAIDKIUw/4uvjxt2lngx7+bo32rxcwf2OH3wWUK5FKiBqD\n"
	"*@example.com,!bad@example.com namespaces=\"git\","
	"valid-after=\"20200101\",valid-before=\"20300101Z\" ssh-ed25519 "
	"AAAAC3NzaC1lZDI1NTE5AAAAIDKIUw/4uvjxt2lngx7+bo32rxcwf2OH3wWUK5FKiBqD\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sshsig_signers *fixed;
	struct sshsig_signers *s = NULL;
	struct sshsig_verdict v;
	struct strvec errors = STRVEC_INIT;

	if (!size)
		return 0;
	if (!(data[0] & 1)) {
		if (sshsig_signers_parse(&s, "fuzz", (const char *)data + 1,
					 size - 1, &errors) == 0)
			sshsig_signers_free(s);
		strvec_clear(&errors);
		error_clear();
		return 0;
	}
	if (!fixed && sshsig_signers_parse(&fixed, "fixed", signers_text,
					   strlen(signers_text), NULL) < 0)
		BUG("fuzz_sshsig: the fixed signers do not parse: %s",
		    error_last());
	sshsig_check(fixed, (const char *)data + 1, size - 1, "text", 4,
		     "ed25519@example.com", 1700000000, &v);
	error_clear();
	return 0;
}
