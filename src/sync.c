/* sync.c - to be written */
#include "config.h"
#include "cmd.h"
int sync_run(const struct cmd_opts *o) { (void)o; return EXIT_USAGE; }
