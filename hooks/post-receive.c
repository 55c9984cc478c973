/*
 * post-receive: deploy the accepted tips to the environments mapped to
 * their branches. Its exit status only informs: git has already updated
 * the refs.
 */
#include <unistd.h>

#include "gate.h"
#include "report.h"
#include "repo.h"

/* install.sh recognises pushgate's own hooks by this string */
const char pushgate_hook_marker[] = "pushgate-hook-marker";

int main(void)
{
	struct gate g = GATE_INIT;
	int r;

	closefrom(3);
	repo_library_init();
	r = gate_open(&g, NULL, GATE_READ_PUSH | GATE_FROM_ENV);
	gate_release(&g);
	repo_library_shutdown();
	return r < 0 ? 1 : 0;
}
