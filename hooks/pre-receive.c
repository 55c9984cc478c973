/*
 * pre-receive: verify every ref update of a push against hooks.ini's
 * [verify] rules, build and test the tips that need it, and accept (exit
 * 0) or reject (exit 1) the whole push. Fails closed: any error rejects.
 */
#include <signal.h>
#include <unistd.h>

#include "gate.h"
#include "report.h"
#include "repo.h"
#include "receive.h"

/* install.sh recognises pushgate's own hooks by this string */
const char pushgate_hook_marker[] = "pushgate-hook-marker";

int main(void)
{
	struct gate g = GATE_INIT;
	struct strvec errors = STRVEC_INIT;
	bool accepted = false;

	closefrom(3);
	/* a pusher who hangs up must not kill us halfway: EPIPE instead */
	signal(SIGPIPE, SIG_IGN);
	repo_library_init();
	if (gate_open(&g, NULL, GATE_READ_PUSH | GATE_FROM_ENV, &errors) == 0)
		accepted = receive_verify(&g);
	report_errors(&errors);
	strvec_clear(&errors);
	if (!accepted)
		report_info("push rejected");
	gate_release(&g);
	repo_library_shutdown();
	return accepted ? 0 : 1;
}
