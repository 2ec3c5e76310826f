/* serverconf.c - to be written */
#include "config.h"
#include "cmd.h"
int serverconf_run(const struct cmd_opts *o) { (void)o; return EXIT_USAGE; }
