/*
 * nolandlock - run a command on a kernel that seems to have no Landlock.
 *
 *   nolandlock COMMAND [ARG...]
 *
 * Installs a seccomp filter that fails landlock_create_ruleset() with
 * ENOSYS, as a kernel built without Landlock does, then executes COMMAND.
 * The filter is inherited by everything COMMAND starts (git push, the
 * hooks, their build and test), so the tests can see what pushgate does
 * where the sandbox is not available. The three Landlock system calls
 * have the same numbers on every architecture.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#define NR_LANDLOCK_CREATE_RULESET 444

int main(int argc, char **argv)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			 NR_LANDLOCK_CREATE_RULESET, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(*code), code };

	if (argc < 2) {
		fputs("usage: nolandlock COMMAND [ARG...]\n", stderr);
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("nolandlock: seccomp");
		return 1;
	}
	execvp(argv[1], argv + 1);
	perror("nolandlock: exec");
	return 127;
}
