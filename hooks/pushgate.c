/*
 * pushgate: the command line for people. Each verb is a cmd_<verb>()
 * that only calls modules; main() parses the global options and
 * dispatches through the table.
 */
#include <getopt.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "errors.h"
#include "gate.h"
#include "report.h"
#include "repo.h"

#define PUSHGATE_VERSION "0.1.0"

struct cmd {
	const char *name;
	int (*fn)(const char *dir, int argc, char **argv);
	const char *usage;
	const char *help;
};

static int cmd_check(const char *dir, int argc, char **argv);

static const struct cmd commands[] = {
	{ "check", cmd_check, "pushgate check [ENV]",
	  "validate hooks.ini (exit 2 on errors)" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(bool to_stdout)
{
	size_t i;

	if (!to_stdout) {
		report_error("usage: pushgate [-C DIR] COMMAND [ARGS] (see: pushgate --help)");
		return;
	}
	report_out("usage: pushgate [-C DIR] COMMAND [ARGS]");
	report_out("%s", "");
	report_out("Run inside the bare repository, or name it with -C DIR.");
	report_out("%s", "");
	for (i = 0; i < NR_COMMANDS; i++)
		report_out("  %-34s %s", commands[i].usage, commands[i].help);
	report_out("%s", "");
	report_out("Exit codes: 0 success, 1 the operation failed, 2 usage or configuration error.");
}

/* Help for one verb: `pushgate VERB --help`. */
static bool verb_help(const struct cmd *c, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			report_out("usage: %s", c->usage);
			report_out("%s", c->help);
			return true;
		}
	return false;
}

static int cmd_check(const char *dir, int argc, char **argv)
{
	struct gate g = GATE_INIT;
	const char *env = argc > 1 ? argv[1] : NULL;
	int r;

	if (argc > 2) {
		report_error("usage: %s", commands[0].usage);
		return 2;
	}
	r = gate_open(&g, dir, 0);
	if (r == 0 && env && !config_env_find(&g.cfg, env)) {
		report_error("no environment '%s' in hooks.ini",
			     report_str(env));
		r = ERR_INVALID;
	} else if (r == 0) {
		report_out("hooks.ini: ok (%s, %zu environment%s)",
			   g.cfg.present ? "present" : "absent: no rules",
			   g.cfg.nr_envs, g.cfg.nr_envs == 1 ? "" : "s");
	}
	gate_release(&g);
	return r == 0 ? 0 : 2;
}

static int dispatch(const char *dir, int argc, char **argv)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++) {
		if (strcmp(argv[0], commands[i].name))
			continue;
		if (verb_help(&commands[i], argc, argv))
			return 0;
		return commands[i].fn(dir, argc, argv);
	}
	report_error("unknown command '%s' (see: pushgate --help)",
		     report_str(argv[0]));
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = ".";
	int c, r;

	closefrom(3);
	report_set_prefix("pushgate: ");
	while ((c = getopt_long(argc, argv, "+C:hV", longopts, NULL)) != -1) {
		if (c == 'C')
			dir = optarg;
		else if (c == 'h' || c == 'V') {
			if (c == 'h')
				usage(true);
			else
				report_out("pushgate %s", PUSHGATE_VERSION);
			return 0;
		} else {
			usage(false);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(false);
		return 2;
	}
	repo_library_init();
	r = dispatch(dir, argc - optind, argv + optind);
	repo_library_shutdown();
	return r;
}
