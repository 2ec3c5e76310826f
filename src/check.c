/* check.c - to be written */
#include "config.h"
#include "cmd.h"
int check_run(const struct cmd_opts *o) { (void)o; return EXIT_USAGE; }
