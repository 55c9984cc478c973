/*
 * post-receive: deploy the accepted tips to the environments mapped to
 * their branches. Its exit status only informs: git has already updated
 * the refs.
 */
#include <signal.h>
#include <unistd.h>

#include "gate.h"
#include "report.h"
#include "repo.h"
#include "receive.h"
#include "statuspage.h"

/* install.sh recognises pushgate's own hooks by this string */
const char pushgate_hook_marker[] = "pushgate-hook-marker";

int main(void)
{
	struct gate g = GATE_INIT;
	struct strvec errors = STRVEC_INIT;
	size_t nr_failed = 1;

	closefrom(3);
	/* a pusher who hangs up must not kill us halfway: EPIPE instead */
	signal(SIGPIPE, SIG_IGN);
	repo_library_init();
	deploy_set_recorded_hook(statuspage_recorded);
	if (!gate_open(&g, NULL, GATE_READ_PUSH | GATE_FROM_ENV, &errors)) {
		nr_failed = receive_deploy(&g);
	}
	report_errors(&errors);
	strvec_clear(&errors);
	gate_release(&g);
	repo_library_shutdown();
	return nr_failed ? 1 : 0;
}
