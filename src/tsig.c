/* tsig.c - to be written */
#include "config.h"
